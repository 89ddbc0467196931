package dialect_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/clocktest"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/logtest"
	"github.com/herald-io/herald/internal/reqlog"
)

// Failed authentications are logged with the dialect, the client's
// address, why and the key id a herald token names, never its secret; a
// flood is cut to AuthLogBurst lines, and the next line written says how
// many were dropped.
func TestAuthFailuresAreLoggedWithinABound(t *testing.T) {
	logs, logger := logtest.New()
	clock := clocktest.New(time.Unix(1_700_000_000, 0))
	c := dialecttest.NewCore(t, dialecttest.Options{Logger: logger, AuthNow: clock.Now})
	g := c.Guard(dialect.GuardSpec{
		Dialect:    "zulip",
		Credential: func(r *http.Request) (string, error) { return r.Header.Get("X-Key"), nil },
	})
	h := g.Handle(func(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error { return nil })
	const secret = "SecretPartSecretPartSecretPart00"
	call := func(key string) {
		r := httptest.NewRequest("GET", "/x?access_token=nope", nil)
		if key != "" {
			r.Header.Set("X-Key", key)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", w.Code)
		}
	}
	for range dialect.AuthLogBurst + 5 {
		call("hk_0123456789abcdef_" + secret)
	}
	lines := logs.Records(t, "authentication failed")
	if len(lines) != dialect.AuthLogBurst {
		t.Fatalf("%d lines for %d failures at once, want %d", len(lines), dialect.AuthLogBurst+5, dialect.AuthLogBurst)
	}
	want := map[string]any{"dialect": "zulip", "remote": "192.0.2.1:1234", "path": "/x", "key": "0123456789abcdef",
		"reason": "unknown key or wrong secret", "level": "WARN"}
	for k, v := range want {
		if lines[0][k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, lines[0][k], v, lines[0])
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatal("the log holds a token's secret")
	}

	clock.Advance(time.Second)
	call("")
	lines = logs.Records(t, "authentication failed")
	last := lines[len(lines)-1]
	if len(lines) != dialect.AuthLogBurst+1 || last["suppressed"] != 5.0 || last["reason"] != "no credential" || last["key"] != nil {
		t.Fatalf("after a second: %d lines, last %v; want %d, suppressed 5, no credential", len(lines), last, dialect.AuthLogBurst+1)
	}
}

// An internal error's answer names the request by the id the access log
// gave it (the X-Request-Id header), so an operator finds both lines.
func TestInternalErrorShowsTheRequestID(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	key := c.Key(t, auth.Spec{Name: "reader", Subscribe: []string{"app.>"}})
	g := c.Guard(dialect.GuardSpec{Credential: func(r *http.Request) (string, error) { return r.Header.Get("X-Key"), nil }})
	h := g.Handle(func(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
		return errors.New("the engine is on fire")
	})
	var logged reqlog.Entry
	e := reqlog.New("GET", "/x", "192.0.2.1:1", time.Now(), func(e *reqlog.Entry, _ int, _ int64) { logged = *e })
	r := httptest.NewRequest("GET", "/x", nil).WithContext(reqlog.With(t.Context(), e))
	r.Header.Set("X-Key", key)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	e.Done(w.Code, 0)
	var p struct {
		Error struct {
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	json.NewDecoder(w.Body).Decode(&p)
	if w.Code != 500 || p.Error.RequestID != e.ID {
		t.Fatalf("%d, request id %q; want 500, %q", w.Code, p.Error.RequestID, e.ID)
	}
	if logged.Key == "" || logged.Dialect != "native" {
		t.Fatalf("the entry names key %q, dialect %q; want the admin key, native", logged.Key, logged.Dialect)
	}
}
