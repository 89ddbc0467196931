package hue

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// TestWriteErr: each failure, classified by the core's table, answers the status a Hue client acts on, in
// the CLIP v2 error body; the temporary ones (503) say when to retry.
func TestWriteErr(t *testing.T) {
	for _, tc := range []struct {
		err         error
		status      int
		retryAfter  string
		description string
	}{
		{fmt.Errorf("%w: on: required", errBadRequest), 400, "", "bad request: on: required"},
		{errNotFound, 404, "", "Not Found"},
		{fmt.Errorf("%w: scene resources cannot be changed", errNotAllowed), 405, "", "method not allowed: scene resources cannot be changed"},
		{&http.MaxBytesError{Limit: MaxBody}, 413, "", "body too large"},
		{fmt.Errorf("put: %w", eventlog.ErrConflict), 409, "", "resource changed concurrently; retry"},
		{fmt.Errorf("%w: timeout", eventlog.ErrUnavailable), 503, "1", "service unavailable"},
		{eventlog.ErrClosed, 503, "1", "service unavailable"},
		{fmt.Errorf("%w: %w", errNotProjected, errors.New("kv down")), 503, "1", errNotProjected.Error()},
		{errors.New("boom"), 500, "", "internal error"},
	} {
		t.Run(tc.description, func(t *testing.T) {
			w := httptest.NewRecorder()
			render(w, nil, dialect.Classify(tc.err))
			var env struct {
				Errors []hueError
				Data   []any
			}
			resp{w.Code, w.Header(), w.Body.Bytes()}.decode(t, &env)
			if w.Code != tc.status || w.Header().Get("Retry-After") != tc.retryAfter ||
				w.Header().Get("Content-Type") != "application/json" ||
				len(env.Errors) != 1 || env.Errors[0].Description != tc.description || env.Data == nil {
				t.Fatalf("%d Retry-After %q: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
			}
			if tc.status == 503 {
				golden(t, "service_unavailable_"+map[bool]string{true: "projection", false: "engine"}[errors.Is(tc.err, errNotProjected)]+".json", w.Body.Bytes())
			}
		})
	}
}
