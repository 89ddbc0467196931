package zulip

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// A mirrored identity's user: made by Mirror with the upstream's id and
// no key, found again by email, then given its key once by the user add
// (in its own realm only); it authenticates with that key.
func TestMirror(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	v, err := e.api.Mirror(ctx, Identity{UserID: 42, Email: "bot@example.com", FullName: "Bot", Bot: true}, "chat")
	if err != nil {
		t.Fatal(err)
	}
	if v.UserID != 42 || v.Realm != "chat" || v.KeyID != "" || !v.Bot {
		t.Fatalf("made %+v", v)
	}
	again, err := e.api.Mirror(ctx, Identity{UserID: 43, Email: "bot@example.com"}, "other")
	if err != nil || again.UserID != 42 || again.Realm != "chat" {
		t.Fatalf("again: %+v %v", again, err)
	}
	if st := e.adminDo("POST", "/v1/zulip/users", `{"email":"bot@example.com","full_name":"Bot","realm":"zulip"}`, nil); st != http.StatusConflict {
		t.Fatalf("a claim in another realm: %d", st)
	}
	var claimed UserView
	if st := e.adminDo("POST", "/v1/zulip/users", `{"email":"bot@example.com","full_name":"Bot"}`, &claimed); st != http.StatusCreated ||
		claimed.APIKey == "" || claimed.UserID != 42 || claimed.Realm != "chat" {
		t.Fatalf("claim: %d %+v", st, claimed)
	}
	if st := e.adminDo("POST", "/v1/zulip/users", `{"email":"bot@example.com","full_name":"Bot"}`, nil); st != http.StatusConflict {
		t.Fatalf("a second claim: %d", st)
	}
	bot := zuser{ID: 42, Email: "bot@example.com", Key: claimed.APIKey}
	if r := e.call(ctx, bot, "GET", "/api/v1/users/me", nil, query); r.Status != 200 || r.Body["user_id"] != float64(42) {
		t.Fatalf("users/me: %d %s", r.Status, r.Raw)
	}
	for _, bad := range []Identity{{UserID: 1, Email: "Bot <b@example.com>"}, {UserID: 0, Email: "c@example.com"}} {
		if _, err := e.api.Mirror(ctx, bad, "chat"); err == nil {
			t.Errorf("%+v mirrored", bad)
		}
	}
	if _, err := e.api.Mirror(ctx, Identity{UserID: 7, Email: "d@example.com"}, "no.realm"); err == nil {
		t.Error("a bad realm accepted")
	}
	// A user that never got its key can be removed.
	if _, err := e.api.Mirror(ctx, Identity{UserID: 8, Email: "e@example.com"}, "chat"); err != nil {
		t.Fatal(err)
	}
	if st := e.adminDo("DELETE", "/v1/zulip/users/e@example.com", "", nil); st != http.StatusNoContent {
		t.Fatalf("remove a keyless user: %d", st)
	}
}

// newMirrorEnv is an env whose server passes mirrored identities'
// requests to their upstreams, as the server's does (Unmatched).
func newMirrorEnv(t *testing.T) *env {
	e := newEnv(t, Config{})
	mux := http.NewServeMux()
	e.api.Mount(mux)
	e.srv = httptest.NewServer(e.api.Unmatched(mux, mux))
	t.Cleanup(e.srv.Close)
	return e
}

// upstreamRecorder is a fake upstream: it records what reaches it.
type upstreamRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (u *upstreamRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.seen = append(u.seen, r.Method+" "+r.URL.Path+" "+string(b))
	u.mu.Unlock()
	io.WriteString(w, `{"result":"success","msg":"","from":"upstream"}`)
}

func (u *upstreamRecorder) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.seen
	u.seen = nil
	return s
}

// A mirrored identity's queues are herald's; everything else it calls
// goes to its upstream: the dialect's other routes, their other methods,
// and paths herald does not serve. Other users, wrong keys and unknown
// paths of others are herald's as before.
func TestUpstreamRouting(t *testing.T) {
	e := newMirrorEnv(t)
	e.addStream("general")
	bot := e.addUser("bot@example.com", "Bot")
	local := e.addUser("carol@example.com", "Carol")
	up := &upstreamRecorder{}
	e.api.SetUpstreams(map[string]http.Handler{"BOT@example.com": up})
	ctx := context.Background()
	fromUpstream := func(r resp) bool { return r.Status == 200 && r.str("from") == "upstream" }

	send := url.Values{"type": {"stream"}, "to": {"general"}, "topic": {"t"}, "content": {"hi"}}
	for _, c := range []struct {
		method, path string
		params       url.Values
		enc          encoding
	}{
		{"POST", "/api/v1/messages", send, form},
		{"POST", "/api/v1/typing", url.Values{"op": {"start"}, "to": {"[1]"}}, form},
		{"GET", "/api/v1/users", nil, query},
		{"GET", "/api/v1/streams", nil, query},
		{"GET", "/api/v1/messages", url.Values{"anchor": {"newest"}}, query},
		{"PATCH", "/api/v1/messages/5", url.Values{"content": {"x"}}, form},
		{"GET", "/api/v1/users/me/alert_words", nil, query},
		{"GET", "/user_uploads/2/ab/file.png", nil, query},
	} {
		if r := e.call(ctx, bot, c.method, c.path, c.params, c.enc); !fromUpstream(r) {
			t.Errorf("%s %s: %d %s, not the upstream's", c.method, c.path, r.Status, r.Raw)
		}
	}
	if seen := up.take(); len(seen) != 8 || seen[0] != "POST /api/v1/messages "+send.Encode() {
		t.Fatalf("the upstream saw %q", seen)
	}

	qid := e.register(bot, nil)
	if r := e.poll(ctx, bot, qid, -1, true); r.Status != 200 || fromUpstream(r) {
		t.Fatalf("poll: %d %s", r.Status, r.Raw)
	}
	if r := e.call(ctx, bot, "DELETE", "/api/v1/events", url.Values{"queue_id": {qid}}, query); r.Status != 200 || fromUpstream(r) {
		t.Fatalf("delete: %d %s", r.Status, r.Raw)
	}
	if r := e.call(ctx, local, "POST", "/api/v1/messages", send, form); r.Status != 200 || fromUpstream(r) {
		t.Fatalf("a local user's send: %d %s", r.Status, r.Raw)
	}
	if r := e.call(ctx, local, "GET", "/api/v1/messages", nil, query); r.Status != 405 {
		t.Fatalf("a local user's GET /messages: %d %s", r.Status, r.Raw)
	}
	wrong := zuser{Email: bot.Email, Key: local.Key}
	if r := e.call(ctx, wrong, "GET", "/api/v1/users/me/alert_words", nil, query); r.Status != 401 {
		t.Fatalf("a wrong key for the mirrored email: %d %s", r.Status, r.Raw)
	}
	// Only register's state came from the upstream (upstreamstate.go).
	if seen := up.take(); len(seen) != 1 || seen[0] != "POST /api/v1/register " {
		t.Fatalf("the upstream saw %q", seen)
	}

	e.api.SetUpstreams(nil)
	if r := e.call(ctx, bot, "POST", "/api/v1/messages", send, form); r.Status != 200 || fromUpstream(r) {
		t.Fatalf("after the connector went: %d %s", r.Status, r.Raw)
	}
	if r := e.call(ctx, bot, "GET", "/api/v1/users/me/alert_words", nil, query); r.Status != 404 || strings.Contains(r.Raw, "upstream") {
		t.Fatalf("an unknown path after the connector went: %d %s", r.Status, r.Raw)
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	rec := httptest.NewRecorder()
	UpstreamUnreachable(rec, nil, nil)
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), `"result":"error"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
