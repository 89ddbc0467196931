package zulip

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/herald-io/herald/internal/dialect"
)

// Error codes of Zulip's API that herald answers with.
const (
	codeBadRequest      = "BAD_REQUEST"
	codeMissingArgument = "REQUEST_VARIABLE_MISSING"
	codeBadQueue        = "BAD_EVENT_QUEUE_ID"
	codeUnauthorized    = "UNAUTHORIZED"
	codeInvalidAPIKey   = "INVALID_API_KEY"
	codeRateLimited     = "RATE_LIMIT_HIT"
	codeAuthFailed      = "AUTHENTICATION_FAILED"
	codeNoStream        = "STREAM_DOES_NOT_EXIST"
)

// apiError is a Zulip error response: {"result":"error","msg":…,"code":…}
// plus the error's data fields, with its HTTP status.
type apiError struct {
	status int
	code   string
	msg    string
	data   map[string]any
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeBadRequest, msg: fmt.Sprintf(format, args...)}
}

// missingArgument is Zulip's RequestVariableMissingError.
func missingArgument(name string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeMissingArgument,
		msg: fmt.Sprintf("Missing '%s' argument", name), data: map[string]any{"var_name": name}}
}

// badQueue is Zulip's BadEventQueueIdError: the queue is unknown, expired,
// deleted or another user's. The lowercase "id" matches what older clients
// test the message for when there is no code; every client tests the code.
func badQueue(id string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeBadQueue,
		msg: "Bad event queue id: " + id, data: map[string]any{"queue_id": id}}
}

// errorBody renders e in Zulip's shape.
func (e *apiError) body() map[string]any {
	m := make(map[string]any, 3+len(e.data))
	for k, v := range e.data {
		m[k] = v
	}
	m["result"], m["msg"], m["code"] = "error", e.msg, e.code
	return m
}

// ProblemKind makes a Zulip error a kind of the core's table.
func (e *apiError) ProblemKind() dialect.Kind { return dialect.KindOfStatus(e.status) }

// renderProblem answers a problem in Zulip's shape; an error of Zulip's own is
// answered as it is, the core's are mapped to what a Zulip client acts on.
func renderProblem(w http.ResponseWriter, _ *http.Request, p *dialect.Problem) {
	dialect.SetProblemHeaders(w, p)
	var ae *apiError
	if !errors.As(p.Err, &ae) {
		ae = &apiError{status: p.Status(), code: codeBadRequest, msg: dialect.ClientMessage(p)}
		switch p.Kind {
		case dialect.Unauthorized:
			ae.code, ae.msg = codeInvalidAPIKey, "Invalid API key"
		case dialect.Forbidden:
			ae.code = "UNAUTHORIZED_PRINCIPAL"
		case dialect.TooLarge:
			ae.msg = "Request body is larger than " + strconv.FormatInt(p.Limit, 10) + " bytes"
		case dialect.RateLimited, dialect.TooManyStreams:
			secs, _ := strconv.ParseInt(p.RetryAfterSeconds(), 10, 64)
			ae.code, ae.msg = codeRateLimited, "API usage exceeded rate limit"
			ae.data = map[string]any{"retry-after": secs} // as Zulip clients read it
		case dialect.Unavailable:
			// 5xx: python-zulip-api retries these (with dont_block) by itself.
			ae.code, ae.msg = "SERVICE_UNAVAILABLE", "The event log is unavailable; retry shortly"
		case dialect.Internal:
			ae.code = "INTERNAL_SERVER_ERROR"
		}
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="zulip"`)
	}
	writeJSON(w, ae.status, ae.body())
}

// fail classifies err with the core's table and answers in Zulip's shape.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) { a.guard.Fail(w, r, err) }

// writeSuccess answers 200 {"result":"success","msg":"",…fields}.
func writeSuccess(w http.ResponseWriter, fields map[string]any) {
	m := make(map[string]any, 2+len(fields))
	for k, v := range fields {
		m[k] = v
	}
	m["result"], m["msg"] = "success", ""
	writeJSON(w, http.StatusOK, m)
}

func writeJSON(w http.ResponseWriter, status int, v any) { dialect.WriteJSON(w, status, v) }
