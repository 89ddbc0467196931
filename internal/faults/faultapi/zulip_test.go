package faultapi_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/zulip"
)

// zulipServer is the native API, /v1/faults and the Zulip dialect, with
// one Zulip user; its header authenticates as that user.
func zulipServer(t *testing.T) (*server, http.Header, string) {
	t.Helper()
	s := newServer(t, func(mux *http.ServeMux, c *dialecttest.Core) {
		z, err := zulip.New(c.Core, zulip.Config{})
		if err != nil {
			t.Fatal(err)
		}
		z.Mount(mux)
	})
	a := s.call(t, "POST", "/v1/zulip/users", bearer(s.admin), `{"email":"bot@example.com","full_name":"Bot"}`)
	if a.status != 201 && a.status != 200 {
		t.Fatalf("add user: %d %s", a.status, a.raw)
	}
	basic := base64.StdEncoding.EncodeToString([]byte("bot@example.com:" + a.json["api_key"].(string)))
	return s, http.Header{"Authorization": {"Basic " + basic}, "Content-Type": {"application/x-www-form-urlencoded"}},
		a.json["key_id"].(string)
}

func register(t *testing.T, s *server, user http.Header) string {
	t.Helper()
	a := s.call(t, "POST", "/api/v1/register", user, `event_types=["message"]`)
	if a.status != 200 || a.json["queue_id"] == nil {
		t.Fatalf("register: %d %s", a.status, a.raw)
	}
	return a.json["queue_id"].(string)
}

func poll(t *testing.T, s *server, user http.Header, qid string, block bool) answer {
	t.Helper()
	q := url.Values{"queue_id": {qid}, "last_event_id": {"-1"}, "dont_block": {"true"}}
	if block {
		q.Del("dont_block")
	}
	return s.call(t, "GET", "/api/v1/events?"+q.Encode(), user, "")
}

// badQueueBody is Zulip's BAD_EVENT_QUEUE_ID answer, as Zulip sends it.
func badQueueBody(qid string) string {
	return `{"code":"BAD_EVENT_QUEUE_ID","msg":"Bad event queue id: ` + qid + `","queue_id":"` + qid + `","result":"error"}` + "\n"
}

// expire_queue expires the queues registered before it, at their next
// poll, exactly as Zulip garbage-collects one: BAD_EVENT_QUEUE_ID, and the
// queue is gone for good. A queue registered afterwards is served.
func TestExpireQueueAtTheNextPoll(t *testing.T) {
	s, user, keyID := zulipServer(t)
	q1, q2 := register(t, s, user), register(t, s, user)
	if a := poll(t, s, user, q1, false); a.status != 200 {
		t.Fatalf("poll before the rule: %d %s", a.status, a.raw)
	}
	s.addFault(t, `{"action":"expire_queue","key":"`+keyID+`"}`)
	for _, q := range []string{q1, q2} {
		a := poll(t, s, user, q, false)
		if a.status != 400 || string(a.raw) != badQueueBody(q) {
			t.Fatalf("poll %s under the rule: %d %s, want %s", q, a.status, a.raw, badQueueBody(q))
		}
		// The queue is gone, not just refused.
		if _, err := s.c.Cursors.Get(context.Background(), "zulip.zulip."+q); !errors.Is(err, cursor.ErrNotFound) {
			t.Errorf("queue %s after its expiry: %v", q, err)
		}
	}
	if n := counter(s.c.Metrics.FaultsInjected.WithLabelValues("zulip", "expire_queue")); n != 2 {
		t.Errorf("expire_queue injected %v times, want 2", n)
	}
	// Gone for good: a poll without the rule is refused the same way.
	s.clearFaults(t)
	if a := poll(t, s, user, q1, false); a.status != 400 || string(a.raw) != badQueueBody(q1) {
		t.Fatalf("poll after clearing: %d %s", a.status, a.raw)
	}
	// A client that registers again goes on, under the rule too.
	s.addFault(t, `{"action":"expire_queue"}`)
	time.Sleep(10 * time.Millisecond) // a queue registered after the rule, on a clock that moved on
	q3 := register(t, s, user)
	if a := poll(t, s, user, q3, false); a.status != 200 {
		t.Fatalf("a queue registered after the rule: %d %s", a.status, a.raw)
	}
}

// A rule for one queue id expires that queue alone; one made while a poll
// waits on it answers that poll at once (the heartbeat is 45 s away).
func TestExpireQueueWhileAPollWaits(t *testing.T) {
	s, user, _ := zulipServer(t)
	q1, q2 := register(t, s, user), register(t, s, user)
	done := make(chan answer, 1)
	go func() { done <- poll(t, s, user, q1, true) }()
	time.Sleep(200 * time.Millisecond) // let the poll begin waiting (it is answered whenever the rule lands)
	s.addFault(t, `{"action":"expire_queue","queue_id":"`+q1+`"}`)
	select {
	case a := <-done:
		if a.status != 400 || string(a.raw) != badQueueBody(q1) {
			t.Fatalf("waiting poll: %d %s", a.status, a.raw)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the waiting poll was not answered")
	}
	if a := poll(t, s, user, q2, false); a.status != 200 {
		t.Fatalf("another queue: %d %s", a.status, a.raw)
	}
}
