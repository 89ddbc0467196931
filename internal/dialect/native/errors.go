package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// errorBody is the native error format: {"error":{"code":…,"message":…}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Earliest uint64 `json:"earliest,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{errorDetail{Code: code, Message: msg}})
}

// writeErr maps an error from the core onto the status and code a client
// can act on.
func writeErr(w http.ResponseWriter, err error) {
	var ee *eventlog.ExpiredError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &ee):
		writeJSON(w, http.StatusGone, errorBody{errorDetail{Code: "position_expired",
			Message: ee.Error(), Earliest: ee.Earliest}})
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body is larger than "+itoa(tooBig.Limit)+" bytes")
	case errors.Is(err, topic.ErrInvalid), errors.Is(err, eventlog.ErrInvalidDraft),
		errors.Is(err, cursor.ErrInvalid), errors.Is(err, auth.ErrInvalid), errors.Is(err, errBadRequest):
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
	case errors.Is(err, cursor.ErrNotFound), errors.Is(err, auth.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, cursor.ErrBatchNotFound):
		writeError(w, http.StatusConflict, "batch_not_pending", err.Error())
	case errors.Is(err, cursor.ErrExists):
		writeError(w, http.StatusConflict, "exists", err.Error())
	case errors.Is(err, auth.ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, deliver.ErrTooManyStreams):
		writeError(w, http.StatusTooManyRequests, "too_many_streams", "this key has as many streams open as it may; close one first")
	case errors.Is(err, eventlog.ErrUnavailable), errors.Is(err, eventlog.ErrClosed):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the event log is unavailable; retry shortly")
	default:
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}

var errBadRequest = errors.New("bad request")

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // messages quote things like <key>; this is not HTML
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"encoding failed"}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
