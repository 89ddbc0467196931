package hue

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/eventlog"
)

// Errors the handlers branch on.
var (
	// errBadRequest marks a body or header the client must fix (400).
	errBadRequest = errors.New("bad request")
	// errNotFound marks an unknown resource type or id (404).
	errNotFound = errors.New("Not Found")
	// errNotAllowed marks an operation a resource type does not support (405).
	errNotAllowed = errors.New("method not allowed")
	// errNotProjected marks a write whose events are in the log but not yet
	// in this node's state (503): the projector completes it; repeating
	// the request is harmless.
	errNotProjected = errors.New("change stored; state not updated yet")
)

// hueError is one element of the CLIP v2 "errors" array.
type hueError struct {
	Description string `json:"description"`
}

// envelope is every CLIP v2 answer: {"errors":[…],"data":[…]}.
type envelope struct {
	Errors []hueError `json:"errors"`
	Data   any        `json:"data"`
}

// writeError answers with the CLIP v2 error body, which clients such as
// aiohue read (and which tells them, on a 403, that this is a v2 bridge).
func writeError(w http.ResponseWriter, status int, description string) {
	writeJSON(w, status, envelope{Errors: []hueError{{description}}, Data: []any{}})
}

// writeData answers 200 with data and no errors.
func writeData(w http.ResponseWriter, data any) {
	writeJSON(w, http.StatusOK, envelope{Errors: []hueError{}, Data: data})
}

// writeErr maps an error onto the status a Hue client acts on.
func writeErr(w http.ResponseWriter, err error) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "body too large")
	case errors.Is(err, errBadRequest):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, "Not Found")
	case errors.Is(err, errNotAllowed):
		writeError(w, http.StatusMethodNotAllowed, err.Error())
	case errors.Is(err, errNotProjected):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, errNotProjected.Error())
	case errors.Is(err, deliver.ErrTooManyStreams):
		writeError(w, http.StatusTooManyRequests, "too many event streams open for this application key")
	case errors.Is(err, eventlog.ErrConflict):
		writeError(w, http.StatusConflict, "resource changed concurrently; retry")
	case errors.Is(err, eventlog.ErrUnavailable), errors.Is(err, eventlog.ErrClosed):
		// aiohue retries 503 and 429 with a back-off.
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "service unavailable")
	default:
		writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"errors":[{"description":"encoding failed"}],"data":[]}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// v1Error is the CLIP v1 error element of POST /api answers.
type v1Error struct {
	Type        int    `json:"type"`
	Address     string `json:"address"`
	Description string `json:"description"`
}

// writeV1Error answers the v1 way: HTTP 200 and a one-element list.
func writeV1Error(w http.ResponseWriter, typ int, address, description string) {
	writeJSON(w, http.StatusOK, []map[string]v1Error{{"error": {typ, address, description}}})
}
