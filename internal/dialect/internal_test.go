package dialect_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
)

// A request herald makes to itself acting as a key needs no credential,
// but is still checked as the key's: its dialect, and Append's scopes.
func TestActAs(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	key := func(token string) *auth.Key {
		k, err := c.Auth.Authenticate(context.Background(), token)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	own := key(c.Key(t, auth.Spec{Name: "own", Dialect: "zulip", Publish: []string{"zulip.r.>"}}))
	other := key(c.Key(t, auth.Spec{Name: "other", Dialect: "hue"}))
	g := c.Guard(dialect.GuardSpec{
		Dialect:    "zulip",
		Credential: func(r *http.Request) (string, error) { return r.Header.Get("X-Key"), nil },
		Render: func(w http.ResponseWriter, r *http.Request, p *dialect.Problem) {
			w.WriteHeader(p.Status())
		},
	})
	h := g.Handle(func(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
		_, err := c.Append(r.Context(), "zulip", []eventlog.Draft{{Topic: r.URL.Query().Get("topic"), Type: "t"}})
		return err
	})
	for _, tc := range []struct {
		name   string
		key    *auth.Key
		topic  string
		status int
	}{
		{"no credential, not acting", nil, "zulip.r.message", 401},
		{"acting as its own key", own, "zulip.r.message", 200},
		{"acting, outside its scope", own, "zulip.s.message", 403},
		{"acting as another API's key", other, "zulip.r.message", 403},
	} {
		ctx := context.Background()
		if tc.key != nil {
			ctx = dialect.ActAs(ctx, tc.key)
		}
		req := httptest.NewRequestWithContext(ctx, "POST", "/x?topic="+tc.topic, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.status)
		}
	}
}

// Under WithEventID the drafts without ids get the derived ones, and a
// second append of them stores nothing.
func TestWithEventID(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	ctx := dialect.WithEventID(context.Background(), "route.r.7")
	drafts := []eventlog.Draft{{Topic: "app.a", Type: "t"}, {Topic: "app.b", Type: "t"}, {ID: "mine", Topic: "app.c", Type: "t"}}
	acks, err := c.Append(ctx, "native", drafts)
	if err != nil {
		t.Fatal(err)
	}
	if acks[0].ID != "route.r.7.0" || acks[1].ID != "route.r.7.1" || acks[2].ID != "mine" || drafts[0].ID != "" {
		t.Fatalf("ids %s %s %s (caller's draft: %q)", acks[0].ID, acks[1].ID, acks[2].ID, drafts[0].ID)
	}
	again, err := c.Append(ctx, "native", drafts)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range again {
		if !a.Duplicate || a.Seq != acks[i].Seq {
			t.Fatalf("second append %d: %+v, want the first's %d as a duplicate", i, a, acks[i].Seq)
		}
	}
	one, err := c.Append(dialect.WithEventID(context.Background(), "route.r.8"), "native", drafts[:1])
	if err != nil || one[0].ID != "route.r.8" {
		t.Fatalf("one draft: %+v %v", one, err)
	}
}
