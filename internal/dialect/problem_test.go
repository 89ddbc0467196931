package dialect_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"testing"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/auth/apptoken"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// The one table: what each error of the core means to a client.
func TestClassify(t *testing.T) {
	tests := []struct {
		err    error
		kind   dialect.Kind
		status int
		code   string
	}{
		{fmt.Errorf("topics: %w", topic.ErrInvalid), dialect.BadRequest, 400, "bad_request"},
		{eventlog.ErrInvalidDraft, dialect.BadRequest, 400, "bad_request"},
		{fmt.Errorf("zulip: user: %w", eventlog.ErrInvalidKey), dialect.BadRequest, 400, "bad_request"},
		{cursor.ErrInvalid, dialect.BadRequest, 400, "bad_request"},
		{auth.ErrInvalid, dialect.BadRequest, 400, "bad_request"},
		{fmt.Errorf("x: %w", cursor.ErrNotFound), dialect.NotFound, 404, "not_found"},
		{auth.ErrNotFound, dialect.NotFound, 404, "not_found"},
		{cursor.ErrBatchNotFound, dialect.Conflict, 409, "batch_not_pending"},
		{cursor.ErrExists, dialect.Conflict, 409, "exists"},
		{eventlog.ErrConflict, dialect.Conflict, 409, "conflict"},
		{&eventlog.AheadError{After: 9, Last: 3}, dialect.PositionAhead, 409, "position_ahead"},
		{fmt.Errorf("read: %w", &eventlog.ExpiredError{After: 1, Earliest: 5}), dialect.Gone, 410, "position_expired"},
		{&http.MaxBytesError{Limit: 10}, dialect.TooLarge, 413, "too_large"},
		{fmt.Errorf("read body: %w", os.ErrDeadlineExceeded), dialect.BadRequest, 400, "bad_request"},
		{auth.ErrUnauthorized, dialect.Unauthorized, 401, "unauthorized"},
		{apptoken.ErrExpired, dialect.Unauthorized, 401, "token_expired"},
		{fmt.Errorf("%w: bad signature", apptoken.ErrInvalid), dialect.Unauthorized, 401, "unauthorized"},
		{auth.ErrForbidden, dialect.Forbidden, 403, "forbidden"},
		{fmt.Errorf("append: %w", eventlog.ErrUnavailable), dialect.Unavailable, 503, "unavailable"},
		{eventlog.ErrClosed, dialect.Unavailable, 503, "unavailable"},
		{context.DeadlineExceeded, dialect.Unavailable, 503, "unavailable"},
		{dialect.Errorf(dialect.TooManyStreams, "x"), dialect.TooManyStreams, 429, "too_many_streams"},
		{deliver.ErrTooManyStreams, dialect.TooManyStreams, 429, "too_many_streams"},
		{errors.New("nats: connection to 10.0.0.7:4222 refused"), dialect.Internal, 500, "internal"},
	}
	for _, tc := range tests {
		p := dialect.Classify(tc.err)
		if p.Kind != tc.kind || p.Status() != tc.status || p.Code != tc.code {
			t.Errorf("%v: %v %d %s, want %v %d %s", tc.err, p.Kind, p.Status(), p.Code, tc.kind, tc.status, tc.code)
		}
		if !errors.Is(p, tc.err) {
			t.Errorf("%v: the problem does not wrap its cause", tc.err)
		}
	}
	p := dialect.Classify(&eventlog.ExpiredError{Earliest: 7})
	if p.Earliest != 7 {
		t.Errorf("expired: earliest %d", p.Earliest)
	}
	if p := dialect.Classify(&eventlog.AheadError{Last: 4}); p.Last != 4 {
		t.Errorf("ahead: last %d", p.Last)
	}
	if p := dialect.Classify(errors.New("secret detail")); p.Message == "secret detail" || dialect.ClientMessage(p) == "secret detail" {
		t.Errorf("an internal error's text is the client's message: %+v", p)
	}
}
