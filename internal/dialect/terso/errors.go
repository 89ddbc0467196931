package terso

import (
	"errors"
	"github.com/herald-io/herald/internal/dialect"
	"net/http"
	"strconv"

	"github.com/herald-io/herald/internal/auth"
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

// ProblemKind makes a bad request naming its field a kind of the core's
// table.
func (e *invalidError) ProblemKind() dialect.Kind { return dialect.BadRequest }

// render answers a problem in the Web API shape a Jetstream client
// expects; the details of internal failures go to the log (with the
// request id the client is shown), not to the client.
func render(w http.ResponseWriter, r *http.Request, p *dialect.Problem) {
	dialect.SetProblemHeaders(w, p)
	var inv *invalidError
	switch {
	case errors.As(p.Err, &inv):
		writeJSON(w, http.StatusBadRequest, errorBody{Message: msgInvalid,
			ModelState: map[string][]string{inv.Field: {inv.Problem}}})
		return
	case p.Kind == dialect.BadRequest:
		writeJSON(w, http.StatusBadRequest, errorBody{Message: msgInvalid,
			ModelState: map[string][]string{"request": {p.Message}}})
		return
	}
	msg := dialect.ClientMessage(p)
	switch p.Kind {
	case dialect.Unauthorized, dialect.Forbidden:
		p.Kind, msg = dialect.Unauthorized, msgDenied
	case dialect.TooLarge:
		msg = "The request body is larger than " + strconv.FormatInt(p.Limit, 10) + " bytes."
	case dialect.NotFound:
		if errors.Is(p.Err, auth.ErrNotFound) || errors.Is(p.Err, errUserNotFound) {
			msg = "No such user."
		}
	case dialect.MethodNotAllowed:
		msg = "The requested resource does not support http method '" + r.Method + "'."
	case dialect.Gone:
		// The subscription's position fell out of the log's retention:
		// Jetstream's signal for a lost subscription is to subscribe again,
		// which the next GET does (see subscription).
		msg = "The subscription's pending events expired; get events again to resubscribe."
	case dialect.RateLimited:
		msg = "Too many requests for this access key; retry after " + p.RetryAfterSeconds() + " s."
	case dialect.Unavailable:
		msg = "The service is unavailable; retry shortly."
	case dialect.Internal:
		msg = "An error has occurred."
		if p.RequestID != "" {
			msg += " (request " + p.RequestID + ")"
		}
	}
	writeJSON(w, p.Kind.Status(), errorBody{Message: msg})
}

// writeJSON answers as the Web API framework does: JSON, charset given.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	dialect.WriteJSON(w, status, v)
}
