package zulip

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// stateUpstream is a scripted server for a mirrored identity's register:
// it answers register as told and records every request's parameters.
type stateUpstream struct {
	mu       sync.Mutex
	status   int
	answer   string
	requests []string // "METHOD path params"
}

func (u *stateUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	u.mu.Lock()
	defer u.mu.Unlock()
	u.requests = append(u.requests, r.Method+" "+r.URL.Path+" "+r.Form.Encode())
	if r.Method == "DELETE" {
		fmt.Fprint(w, `{"result":"success","msg":""}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(u.status)
	fmt.Fprint(w, u.answer)
}

func (u *stateUpstream) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.requests
	u.requests = nil
	return s
}

// queueCount is how many Zulip queues herald has.
func (e *env) queueCount() int {
	var out struct{ Queues []QueueView }
	if st := e.adminDo("GET", "/v1/zulip/queues", "", &out); st != 200 {
		e.t.Fatalf("GET /v1/zulip/queues: %d", st)
	}
	return len(out.Queues)
}

// A mirrored identity's register answers its server's initial state, for
// the client's own arguments, with herald's queue in it; the server's
// queue is deleted at once. A server that refuses is answered as it
// answered and herald keeps no queue; one that answers nonsense is a 502
// in Zulip's shape.
func TestUpstreamRegister(t *testing.T) {
	e := newMirrorEnv(t)
	bot := e.addUser("bot@example.com", "Bot")
	up := &stateUpstream{status: 200, answer: `{"result":"success","msg":"","queue_id":"up-q","last_event_id":7,` +
		`"event_queue_longpoll_timeout_seconds":5,"realm_name":"Upstream","max_message_id":99,"zulip_feature_level":300,` +
		`"subscriptions":[{"name":"upstairs","stream_id":3}]}`}
	e.api.SetUpstreams(map[string]http.Handler{"bot@example.com": up})
	ctx := context.Background()

	params := url.Values{"event_types": {`["message"]`}, "fetch_event_types": {`["realm","subscription","message"]`},
		"apply_markdown": {"true"}}
	r := e.call(ctx, bot, "POST", "/api/v1/register", params, form)
	qid := r.str("queue_id")
	if r.Status != 200 || qid == "" || qid == "up-q" || r.Body["last_event_id"] != float64(-1) ||
		r.Body["event_queue_longpoll_timeout_seconds"] != float64(LongpollTimeout) {
		t.Fatalf("register: %d %s (herald's queue wanted)", r.Status, r.Raw)
	}
	subs, _ := r.Body["subscriptions"].([]any)
	if r.str("realm_name") != "Upstream" || r.Body["max_message_id"] != float64(99) || len(subs) != 1 ||
		r.Body["zulip_feature_level"] != float64(300) {
		t.Fatalf("register: %s (the upstream's state wanted)", r.Raw)
	}
	if seen := up.take(); len(seen) != 2 || seen[0] != "POST /api/v1/register "+params.Encode() ||
		seen[1] != "DELETE /api/v1/events queue_id=up-q" {
		t.Fatalf("the upstream saw %q", seen)
	}
	if p := e.poll(ctx, bot, qid, -1, true); p.Status != 200 {
		t.Fatalf("poll herald's queue: %d %s", p.Status, p.Raw)
	}
	if n := e.queueCount(); n != 1 {
		t.Fatalf("%d queues, want 1", n)
	}

	up.status, up.answer = 400, `{"result":"error","msg":"Invalid narrow","code":"BAD_REQUEST"}`
	r = e.call(ctx, bot, "POST", "/api/v1/register", url.Values{"narrow": {`[["stream","x"]]`}}, form)
	if r.Status != 400 || r.str("msg") != "Invalid narrow" {
		t.Fatalf("a refused register: %d %s (the upstream's answer wanted)", r.Status, r.Raw)
	}
	up.status, up.answer = 200, `<html>not zulip</html>`
	r = e.call(ctx, bot, "POST", "/api/v1/register", nil, form)
	if r.Status != 502 || r.str("result") != "error" || strings.Contains(r.Raw, "html") {
		t.Fatalf("a nonsense answer: %d %s", r.Status, r.Raw)
	}
	if n := e.queueCount(); n != 1 {
		t.Fatalf("%d queues after two failed registers, want 1", n)
	}
}
