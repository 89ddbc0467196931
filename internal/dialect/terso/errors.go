package terso

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// errorBody is the ASP.NET Web API error shape the Jetstream service and
// its .NET SDK use: a message and, for a bad request, the fields at fault.
type errorBody struct {
	Message    string              `json:"Message"`
	ModelState map[string][]string `json:"ModelState,omitempty"`
}

// Messages of the Web API framework, kept verbatim so clients that match
// on them keep working.
const (
	msgDenied  = "Authorization has been denied for this request."
	msgInvalid = "The request is invalid."
)

// invalidError is a bad request naming its field, answered 400 with
// ModelState.
type invalidError struct {
	Field   string
	Problem string
}

func (e *invalidError) Error() string { return e.Field + ": " + e.Problem }

func invalid(field, problem string) error { return &invalidError{Field: field, Problem: problem} }

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Message: msg})
}

// writeErr maps an error onto the status a Jetstream client expects; the
// details of internal failures go to the log, not to the client.
func (a *API) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var inv *invalidError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &inv):
		writeJSON(w, http.StatusBadRequest, errorBody{Message: msgInvalid,
			ModelState: map[string][]string{inv.Field: {inv.Problem}}})
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge,
			"The request body is larger than "+strconv.FormatInt(tooBig.Limit, 10)+" bytes.")
	case errors.Is(err, topic.ErrInvalid), errors.Is(err, eventlog.ErrInvalidDraft),
		errors.Is(err, cursor.ErrInvalid), errors.Is(err, auth.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, errorBody{Message: msgInvalid,
			ModelState: map[string][]string{"request": {err.Error()}}})
	case errors.Is(err, auth.ErrNotFound), errors.Is(err, errUserNotFound):
		writeError(w, http.StatusNotFound, "No such user.")
	case errors.Is(err, eventlog.ErrExpired):
		// The subscription's position fell out of the log's retention:
		// Jetstream's signal for a lost subscription is to subscribe again,
		// which the next GET does (see subscription).
		writeError(w, http.StatusGone, "The subscription's pending events expired; get events again to resubscribe.")
	case errors.Is(err, eventlog.ErrUnavailable), errors.Is(err, eventlog.ErrClosed):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "The service is unavailable; retry shortly.")
	default:
		a.core.Logger.Error("jetstream: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "An error has occurred.")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"Message":"An error has occurred."}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
