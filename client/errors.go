package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. An *APIError matches the sentinel for its status (and
// for some codes) under errors.Is, so callers branch without parsing codes.
var (
	// ErrBadRequest: the server rejected the request as malformed (400).
	ErrBadRequest = errors.New("herald: bad request")
	// ErrUnauthorized: no key, or one the server does not know (401).
	ErrUnauthorized = errors.New("herald: unauthorized")
	// ErrForbidden: the key's scopes do not allow the operation (403).
	ErrForbidden = errors.New("herald: forbidden")
	// ErrNotFound: no such subscription, key or endpoint (404).
	ErrNotFound = errors.New("herald: not found")
	// ErrConflict: the request conflicts with the current state (409).
	ErrConflict = errors.New("herald: conflict")
	// ErrBatchNotPending: an acknowledged batch id is not the pending batch
	// (409 batch_not_pending); fetch again to get the current one.
	ErrBatchNotPending = errors.New("herald: batch not pending")
	// ErrPositionExpired: events after the requested position were removed
	// by retention (410, or a stream's reset event). The error is an
	// *APIError whose Earliest is the oldest event still stored.
	ErrPositionExpired = errors.New("herald: position expired")
	// ErrPositionAhead: the requested position is past the end of the
	// server's log (409 position_ahead, or a stream's reset event): its log
	// was wiped or replaced. The error is an *APIError whose Last is the
	// log's last event; start again after it.
	ErrPositionAhead = errors.New("herald: position ahead of the log")
	// ErrTooLarge: the request body exceeds the server's limit (413).
	ErrTooLarge = errors.New("herald: request too large")
	// ErrRateLimited: the key exceeded its request rate (429); see
	// APIError.RetryAfter.
	ErrRateLimited = errors.New("herald: rate limited")
	// ErrUnavailable: the server or its event log is temporarily unavailable
	// (503); retrying later may succeed.
	ErrUnavailable = errors.New("herald: unavailable")
	// ErrClosed is returned by a Stream's Next after Close.
	ErrClosed = errors.New("herald: stream closed")
)

// APIError is an error answer from the server:
// {"error":{"code":…,"message":…,"earliest":…}} with its HTTP status.
type APIError struct {
	Status  int    // HTTP status code
	Code    string // machine-readable code, e.g. "position_expired"
	Message string // human-readable explanation
	// Earliest is the oldest stored sequence number when Code is
	// "position_expired"; resuming after Earliest-1 accepts the gap.
	Earliest uint64
	// Last is the server's last sequence number when Code is
	// "position_ahead".
	Last uint64
	// RetryAfter is the server's Retry-After hint (429, 503), or 0.
	RetryAfter time.Duration
}

// Error returns the message, then the status and code in parentheses:
// `topic "a b" is not valid (400 bad_request)`. There is no prefix: the
// caller's message says what failed ("publish: …").
func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = strings.ToLower(http.StatusText(e.Status))
	}
	if e.Code == "" {
		return fmt.Sprintf("%s (%d)", msg, e.Status)
	}
	return fmt.Sprintf("%s (%d %s)", msg, e.Status, e.Code)
}

// Is reports whether target is the sentinel for e's status or code.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrPositionExpired:
		return e.Code == "position_expired" || e.Status == http.StatusGone
	case ErrPositionAhead:
		return e.Code == "position_ahead"
	case ErrBatchNotPending:
		return e.Code == "batch_not_pending"
	}
	return statusSentinel(e.Status) == target && target != nil
}

func statusSentinel(status int) error {
	switch status {
	case http.StatusBadRequest:
		return ErrBadRequest
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case http.StatusTooManyRequests:
		return ErrRateLimited
	case http.StatusServiceUnavailable:
		return ErrUnavailable
	}
	return nil
}

// Temporary reports whether retrying the same request later may succeed:
// rate limiting and server-side unavailability, not a bad request or a
// missing permission.
func (e *APIError) Temporary() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusRequestTimeout, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// maxErrorBody bounds how much of an error answer is read: a proxy's HTML
// page should not fill memory.
const maxErrorBody = 64 << 10

// readAPIError builds the error for a non-success response. A body that is
// not herald's error JSON (a proxy's page, say) still yields the status.
func readAPIError(resp *http.Response) *APIError {
	e := &APIError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Error struct {
			Code     string `json:"code"`
			Message  string `json:"message"`
			Earliest uint64 `json:"earliest"`
			Last     uint64 `json:"last"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message, e.Earliest, e.Last = body.Error.Code, body.Error.Message, body.Error.Earliest, body.Error.Last
	} else {
		e.Message = strings.TrimSpace(string(b))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "…"
		}
	}
	return e
}

// parseRetryAfter accepts delay-seconds or an HTTP date (RFC 9110 §10.2.3).
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
