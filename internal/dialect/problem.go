package dialect

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/auth/apptoken"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/topic"
)

// Kind is what a failed request means to a client, whatever its dialect.
// Each dialect renders a kind in its vendor's shape and status; the kind
// itself is decided once, by Classify.
type Kind int

// The kinds, with the HTTP status and native code each has by default.
const (
	Internal         Kind = iota // 500 internal: a bug or an unexpected failure; its text stays in the log
	BadRequest                   // 400 bad_request: the client must change the request
	Unauthorized                 // 401 unauthorized: no credential, or not a valid one
	Forbidden                    // 403 forbidden: a valid key whose scopes do not allow it
	NotFound                     // 404 not_found
	MethodNotAllowed             // 405 method_not_allowed (Allow is set)
	Conflict                     // 409 conflict (Code says which)
	PositionAhead                // 409 position_ahead: a position past the log's end (Last)
	Gone                         // 410 position_expired: older than retention (Earliest)
	TooLarge                     // 413 too_large: the body is over the limit (Limit)
	RateLimited                  // 429 rate_limited (RetryAfter)
	TooManyStreams               // 429 too_many_streams: the key's stream cap
	Unavailable                  // 503 unavailable: the engine cannot answer now (RetryAfter)
)

var kindStatus = [...]int{
	Internal:         http.StatusInternalServerError,
	BadRequest:       http.StatusBadRequest,
	Unauthorized:     http.StatusUnauthorized,
	Forbidden:        http.StatusForbidden,
	NotFound:         http.StatusNotFound,
	MethodNotAllowed: http.StatusMethodNotAllowed,
	Conflict:         http.StatusConflict,
	PositionAhead:    http.StatusConflict,
	Gone:             http.StatusGone,
	TooLarge:         http.StatusRequestEntityTooLarge,
	RateLimited:      http.StatusTooManyRequests,
	TooManyStreams:   http.StatusTooManyRequests,
	Unavailable:      http.StatusServiceUnavailable,
}

var kindCode = [...]string{
	Internal:         "internal",
	BadRequest:       "bad_request",
	Unauthorized:     "unauthorized",
	Forbidden:        "forbidden",
	NotFound:         "not_found",
	MethodNotAllowed: "method_not_allowed",
	Conflict:         "conflict",
	PositionAhead:    "position_ahead",
	Gone:             "position_expired",
	TooLarge:         "too_large",
	RateLimited:      "rate_limited",
	TooManyStreams:   "too_many_streams",
	Unavailable:      "unavailable",
}

// Status is the HTTP status of k.
func (k Kind) Status() int { return kindStatus[k] }

// Code is the native API's error code of k.
func (k Kind) String() string { return kindCode[k] }

// A Problem is a failed request as a client may see it. Message is safe to
// show: it never carries the text of an internal error, which stays in Err
// and goes to the log with the request id.
type Problem struct {
	Kind    Kind
	Code    string // the native code; Kind's unless more precise ("batch_not_pending")
	Message string

	Earliest   uint64        // Gone: the oldest position the log still has
	Last       uint64        // PositionAhead: the log's last position
	RetryAfter time.Duration // RateLimited, TooManyStreams, Unavailable
	Limit      int64         // TooLarge: the body limit in bytes
	Allow      string        // MethodNotAllowed: the methods the path has
	RequestID  string        // set by the guard; shown with internal errors

	Err error // the cause, for the log and for errors.Is/As; never rendered
}

func (p *Problem) Error() string {
	if p.Err != nil && p.Kind == Internal {
		return p.Err.Error()
	}
	return p.Message
}

func (p *Problem) Unwrap() error { return p.Err }

// Status is the HTTP status of the problem's kind.
func (p *Problem) Status() int { return p.Kind.Status() }

// RetryAfterSeconds is Retry-After in whole seconds, rounded up and at
// least 1: "0" would invite an immediate retry.
func (p *Problem) RetryAfterSeconds() string {
	return strconv.FormatInt(max(int64((p.RetryAfter+time.Second-1)/time.Second), 1), 10)
}

// Errorf returns a problem of kind k with a message for the client.
func Errorf(k Kind, format string, args ...any) error {
	return &Problem{Kind: k, Code: k.String(), Message: fmt.Sprintf(format, args...)}
}

// Sentinel returns an error of kind k for a dialect's own sentinels: a
// client sees the whole text of an error that wraps it ("bad request:
// brightness must be ≤ 100"), classified as k.
func Sentinel(k Kind, text string) error { return &sentinel{kind: k, text: text} }

type sentinel struct {
	kind Kind
	text string
}

func (s *sentinel) Error() string     { return s.text }
func (s *sentinel) ProblemKind() Kind { return s.kind }

// Kinded is an error of a dialect's own that knows its kind (a vendor's
// error value carrying its own code and status): Classify takes the kind
// from it, and the dialect's renderer finds it in Problem.Err.
type Kinded interface {
	error
	ProblemKind() Kind
}

// KindOfStatus is the kind an HTTP status means, for a dialect's errors
// that carry a status.
func KindOfStatus(status int) Kind {
	for k, s := range kindStatus {
		if s == status {
			return Kind(k)
		}
	}
	if status >= 500 {
		return Internal
	}
	return BadRequest
}

// Classify decides what err means to a client: the one table from the
// core's errors to kinds. A Problem anywhere in the chain is taken as is.
// Anything it does not know is Internal, with a message that says nothing
// of the cause.
func Classify(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var expired *eventlog.ExpiredError
	var ahead *eventlog.AheadError
	var tooBig *http.MaxBytesError
	p = &Problem{Err: err, Message: err.Error()}
	var k Kinded
	switch {
	case errors.As(err, &k):
		p.Kind = k.ProblemKind()
		if p.Kind == Unavailable {
			// What wraps it is the failure's detail, not the client's.
			p.RetryAfter, p.Message = time.Second, k.Error()
		}
	case errors.As(err, &expired):
		p.Kind, p.Earliest = Gone, expired.Earliest
	case errors.As(err, &ahead):
		p.Kind, p.Last = PositionAhead, ahead.Last
	case errors.As(err, &tooBig):
		p.Kind, p.Limit = TooLarge, tooBig.Limit
		p.Message = "the request body is larger than " + strconv.FormatInt(tooBig.Limit, 10) + " bytes"
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The only deadline a handler meets is the server's on a body
		// that did not arrive in time.
		p.Kind, p.Message = BadRequest, "the request body did not arrive in time"
	case errors.Is(err, topic.ErrInvalid), errors.Is(err, eventlog.ErrInvalidDraft), errors.Is(err, eventlog.ErrInvalidKey),
		errors.Is(err, cursor.ErrInvalid), errors.Is(err, auth.ErrInvalid), errors.Is(err, faults.ErrInvalid):
		p.Kind = BadRequest
	case errors.Is(err, cursor.ErrNotFound), errors.Is(err, auth.ErrNotFound), errors.Is(err, faults.ErrNotFound):
		p.Kind = NotFound
	case errors.Is(err, cursor.ErrBatchNotFound):
		p.Kind, p.Code = Conflict, "batch_not_pending"
	case errors.Is(err, cursor.ErrExists):
		p.Kind, p.Code = Conflict, "exists"
	case errors.Is(err, eventlog.ErrConflict):
		p.Kind, p.Message = Conflict, "changed concurrently; retry"
	case errors.Is(err, apptoken.ErrExpired):
		p.Kind, p.Code, p.Message = Unauthorized, "token_expired", "the token has expired"
	case errors.Is(err, apptoken.ErrInvalid):
		p.Kind, p.Message = Unauthorized, "the token is not valid"
	case errors.Is(err, auth.ErrUnauthorized):
		p.Kind, p.Message = Unauthorized, "the key is not valid"
	case errors.Is(err, auth.ErrForbidden):
		p.Kind = Forbidden
	case errors.Is(err, deliver.ErrTooManyStreams):
		p.Kind, p.RetryAfter = TooManyStreams, time.Second
		p.Message = "this key has as many streams open as it may; close one first"
	case errors.Is(err, eventlog.ErrUnavailable), errors.Is(err, eventlog.ErrClosed),
		errors.Is(err, context.DeadlineExceeded):
		p.Kind, p.RetryAfter = Unavailable, time.Second
		p.Message = "the event log is unavailable; retry shortly"
	default:
		p.Kind = Internal
	}
	if p.Kind == Internal {
		p.Message = "internal error" // whatever wrapped it, the cause's text stays in the log
	}
	if p.Code == "" {
		p.Code = p.Kind.String()
	}
	return p
}
