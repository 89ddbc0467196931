package dialect_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/logtest"
)

// The pipeline every dialect's requests go through: each step answers in
// the dialect's shape, and an internal error's text reaches the log, with
// the request id the client is shown, but never the client.
func TestGuardPipeline(t *testing.T) {
	logs, logger := logtest.New()
	c := dialecttest.NewCore(t, dialecttest.Options{Logger: logger})
	ctx := context.Background()
	own := c.Key(t, auth.Spec{Name: "own", Dialect: "zulip", Subscribe: []string{"zulip.>"}})
	other := c.Key(t, auth.Spec{Name: "other", Dialect: "hue", Subscribe: []string{"hue.>"}})
	slow := c.Key(t, auth.Spec{Name: "slow", Dialect: "zulip", Rate: 0.001})
	var rendered []*dialect.Problem
	var mu sync.Mutex
	g := c.Guard(dialect.GuardSpec{
		Dialect:    "zulip",
		Credential: func(r *http.Request) (string, error) { return r.Header.Get("X-Key"), nil },
		Render: func(w http.ResponseWriter, r *http.Request, p *dialect.Problem) {
			mu.Lock()
			rendered = append(rendered, p)
			mu.Unlock()
			dialect.SetProblemHeaders(w, p)
			dialect.WriteJSON(w, p.Status(), map[string]string{"msg": dialect.ClientMessage(p), "id": p.RequestID})
		},
		MaxBody: 16,
	})
	srv := c.Serve(t, func(mux *http.ServeMux) {
		mux.Handle("POST /fail", g.Handle(func(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
			return errors.New("nats: stream herald at 10.1.2.3 password=hunter2")
		}))
		mux.Handle("POST /read", g.Handle(func(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
			if dialect.KeyFrom(r.Context()) != req.Key {
				t.Error("the request's context does not carry its key")
			}
			_, err := io.ReadAll(r.Body)
			return err
		}))
	})
	do := func(path, key, body string) (*http.Response, map[string]string) {
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("X-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]string
		json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}

	resp, m := do("/fail", own, "")
	if resp.StatusCode != 500 || strings.Contains(m["msg"], "hunter2") || strings.Contains(m["msg"], "nats") || m["id"] == "" {
		t.Fatalf("internal error: %d %v", resp.StatusCode, m)
	}
	if !strings.Contains(logs.String(), "hunter2") || !strings.Contains(logs.String(), m["id"]) {
		t.Fatalf("the log lacks the cause or the request id %s:\n%s", m["id"], logs.String())
	}
	for _, tc := range []struct {
		name, key, body string
		status          int
		kind            dialect.Kind
	}{
		{"no credential", "", "", 401, dialect.Unauthorized},
		{"unknown key", "hk_0123456789abcdef_00000000000000000000000000000000", "", 401, dialect.Unauthorized},
		{"another dialect's key", other, "", 403, dialect.Forbidden},
		{"body over the limit", own, strings.Repeat("x", 17), 413, dialect.TooLarge},
		{"within limits", own, "small", 200, 0},
	} {
		resp, _ := do("/read", tc.key, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if tc.status != 200 && rendered[len(rendered)-1].Kind != tc.kind {
			t.Errorf("%s: rendered %v", tc.name, rendered[len(rendered)-1].Kind)
		}
	}
	for range 3000 { // the default burst, then one more
		if resp, _ = do("/read", slow, ""); resp.StatusCode == 429 {
			break
		}
	}
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Retry-After") == "0" {
		t.Fatalf("rate limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// Append is the one way into the log, and applies the same rules whatever
// the dialect: a dialect key's publish scope, the namespaces, UTF-8.
func TestAppendRules(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	ctx := context.Background()
	realm1, _, err := c.Auth.Create(ctx, auth.Spec{Name: "u", Dialect: "zulip",
		Publish: []string{"zulip.r1.>"}, Subscribe: []string{"zulip.r1.>"}})
	if err != nil {
		t.Fatal(err)
	}
	asUser := dialect.WithKey(ctx, &realm1)
	draft := func(topic, data string) []eventlog.Draft {
		return []eventlog.Draft{{Topic: topic, Type: "message", Data: []byte(data)}}
	}
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		dialect string
		drafts  []eventlog.Draft
		kind    dialect.Kind // 0 with ok
		ok      bool
	}{
		{"own realm", asUser, "zulip", draft("zulip.r1.message", `{}`), 0, true},
		{"another realm", asUser, "zulip", draft("zulip.r2.message", `{}`), dialect.Forbidden, false},
		{"herald itself, own namespace", ctx, "hue", draft("hue.light.x", `{}`), 0, true},
		{"herald itself, another namespace", ctx, "hue", draft("zulip.r1.message", `{}`), dialect.Forbidden, false},
		{"invalid UTF-8", ctx, "zulip", draft("zulip.r1.message", "\"\xff\""), dialect.BadRequest, false},
	} {
		_, err := c.Append(tc.ctx, tc.dialect, tc.drafts)
		if tc.ok != (err == nil) || (err != nil && dialect.Classify(err).Kind != tc.kind) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	_, last, err := c.Log.Bounds(ctx)
	if err != nil || last != 2 {
		t.Fatalf("the log holds %d events (%v), want the 2 allowed", last, err)
	}
}
