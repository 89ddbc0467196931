package hue

import (
	"errors"
	"net/http"

	"github.com/herald-io/herald/internal/dialect"
)

// Errors the handlers branch on, classified by the core's one table.
var (
	// errBadRequest marks a body or header the client must fix (400).
	errBadRequest = dialect.Sentinel(dialect.BadRequest, "bad request")
	// errNotFound marks an unknown resource type or id (404).
	errNotFound = dialect.Sentinel(dialect.NotFound, "Not Found")
	// errNotAllowed marks an operation a resource type does not support (405).
	errNotAllowed = dialect.Sentinel(dialect.MethodNotAllowed, "method not allowed")
	// errNotProjected marks a write whose events are in the log but not yet
	// in this node's state (503): the projector completes it; repeating
	// the request is harmless.
	errNotProjected = dialect.Sentinel(dialect.Unavailable, "change stored; state not updated yet")
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

// render answers a problem the way a bridge does: the CLIP v2 error body,
// which clients such as aiohue read (and which tells them, on a 403, that
// this is a v2 bridge), with the status a Hue client acts on; aiohue
// retries 503 and 429 with a back-off.
func render(w http.ResponseWriter, _ *http.Request, p *dialect.Problem) {
	dialect.SetProblemHeaders(w, p)
	status, msg := p.Status(), dialect.ClientMessage(p)
	switch p.Kind {
	case dialect.Unauthorized, dialect.Forbidden:
		status, msg = http.StatusForbidden, "unauthorized user"
	case dialect.TooLarge:
		msg = "body too large"
	case dialect.NotFound:
		msg = "Not Found"
	case dialect.Conflict:
		msg = "resource changed concurrently; retry"
	case dialect.RateLimited:
		msg = "too many requests"
	case dialect.Unavailable:
		if !errors.Is(p.Err, errNotProjected) {
			msg = "service unavailable"
		}
	}
	writeError(w, status, msg)
}

// fail classifies err with the core's table and answers in Hue's shape.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) { a.guard.Fail(w, r, err) }

func writeJSON(w http.ResponseWriter, status int, v any) { dialect.WriteJSON(w, status, v) }

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
