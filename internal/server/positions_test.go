package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// What a consumer acknowledged stays acknowledged, and what it was handed
// but did not acknowledge comes back the same, after kill -9: a native
// durable subscription, a Zulip queue and a Jetstream subscription each
// acknowledge a first batch, hold a second one pending, and find exactly
// that pending batch again once the server is back.
func TestPositionsSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	c := startChild(t)
	admin := c.admin()

	// Native: five events; the first three fetched and acknowledged, the
	// last two fetched.
	if st := c.do("PUT", "/v1/subscriptions/keep", admin, `{"topics":["app.keep.>"],"start":"earliest"}`, nil); st != 201 {
		t.Fatalf("create subscription: %d", st)
	}
	for i := 1; i <= 5; i++ {
		if st := c.do("POST", "/v1/events", admin, fmt.Sprintf(`{"topic":"app.keep.x","id":"k%d"}`, i), nil); st != 201 {
			t.Fatalf("publish k%d: %d", i, st)
		}
	}
	type batch struct {
		Batch  string
		Events []struct{ ID string }
	}
	ids := func(b batch) []string {
		var out []string
		for _, e := range b.Events {
			out = append(out, e.ID)
		}
		return out
	}
	var nb batch
	if c.do("GET", "/v1/subscriptions/keep/events?limit=3", admin, "", &nb); !slices.Equal(ids(nb), []string{"k1", "k2", "k3"}) {
		t.Fatalf("first batch: %+v", nb)
	}
	if st := c.do("POST", "/v1/subscriptions/keep/ack", admin, `{"batch":"`+nb.Batch+`"}`, nil); st != 200 {
		t.Fatalf("ack: %d", st)
	}
	var pending batch
	if c.do("GET", "/v1/subscriptions/keep/events", admin, "", &pending); !slices.Equal(ids(pending), []string{"k4", "k5"}) {
		t.Fatalf("second batch: %+v", pending)
	}
	// A second one acknowledges its first batch in the fetch of the next.
	if st := c.do("PUT", "/v1/subscriptions/loop", admin, `{"topics":["app.keep.>"],"start":"earliest"}`, nil); st != 201 {
		t.Fatalf("create subscription: %d", st)
	}
	var lb, lpending batch
	if c.do("GET", "/v1/subscriptions/loop/events?limit=2", admin, "", &lb); !slices.Equal(ids(lb), []string{"k1", "k2"}) {
		t.Fatalf("loop's first batch: %+v", lb)
	}
	loopNext := "/v1/subscriptions/loop/events?limit=2&ack=" + lb.Batch
	if c.do("GET", loopNext, admin, "", &lpending); !slices.Equal(ids(lpending), []string{"k3", "k4"}) {
		t.Fatalf("loop's second batch: %+v", lpending)
	}

	// Zulip: four messages; the poll that names the second one's id
	// acknowledges the first two and hands out the others.
	var zu struct {
		APIKey string `json:"api_key"`
	}
	if st := c.do("POST", "/v1/zulip/users", admin, `{"email":"keep@example.com","full_name":"Keep"}`, &zu); st != 201 {
		t.Fatalf("zulip user: %d", st)
	}
	c.do("POST", "/v1/zulip/streams", admin, `{"name":"general"}`, nil)
	form := http.Header{"Authorization": {basicAuth("keep@example.com", zu.APIKey)},
		"Content-Type": {"application/x-www-form-urlencoded"}}
	var reg struct {
		QueueID string `json:"queue_id"`
	}
	if st := c.do("POST", "/api/v1/register", form, url.Values{"event_types": {`["message"]`}}.Encode(), &reg); st != 200 {
		t.Fatalf("register: %d", st)
	}
	for i := 1; i <= 4; i++ {
		msg := url.Values{"type": {"stream"}, "to": {"general"}, "topic": {"t"}, "content": {fmt.Sprint("m", i)}}
		if st := c.do("POST", "/api/v1/messages", form, msg.Encode(), nil); st != 200 {
			t.Fatalf("send m%d: %d", i, st)
		}
	}
	type zevents struct {
		Events []struct {
			ID      int64
			Message struct{ Content string }
		}
	}
	poll := func(last int64) zevents {
		t.Helper()
		var evs zevents
		q := url.Values{"queue_id": {reg.QueueID}, "last_event_id": {fmt.Sprint(last)}, "dont_block": {"true"}}
		if st := c.do("GET", "/api/v1/events?"+q.Encode(), form, "", &evs); st != 200 {
			t.Fatalf("poll after %d: %d", last, st)
		}
		return evs
	}
	all := poll(-1)
	if len(all.Events) != 4 {
		t.Fatalf("zulip queue: %+v", all)
	}
	zpending := poll(all.Events[1].ID)
	if len(zpending.Events) != 2 || zpending.Events[0].Message.Content != "m3" || zpending.Events[1].Message.Content != "m4" {
		t.Fatalf("zulip poll after the second: %+v", zpending)
	}

	// Jetstream: three heartbeats; a batch of two deleted, the third
	// handed out in a batch of its own.
	var ju struct {
		AccessKey string `json:"access_key"`
	}
	if st := c.do("POST", "/v1/jetstream/users", admin, `{"name":"keep"}`, &ju); st != 201 {
		t.Fatalf("jetstream user: %d", st)
	}
	access := http.Header{"AccessKey": {ju.AccessKey}}
	c.do("GET", "/3/events", access, "", nil) // the first GET subscribes
	for range 3 {
		if st := c.do("POST", "/v1/jetstream/simulate", admin, `{"device":"keep-1","heartbeat":true}`, nil); st != 201 {
			t.Fatalf("simulate: %d", st)
		}
	}
	type jbatch struct {
		BatchID string `json:"BatchId"`
		Events  []struct {
			EventID string `json:"EventId"`
		}
	}
	var first jbatch
	if c.do("GET", "/3/events/2", access, "", &first); len(first.Events) != 2 {
		t.Fatalf("jetstream first batch: %+v", first)
	}
	if st := c.do("DELETE", "/3/events", access, `{"BatchId":"`+first.BatchID+`"}`, nil); st != 204 {
		t.Fatalf("delete batch: %d", st)
	}
	var jpending jbatch
	if c.do("GET", "/3/events", access, "", &jpending); len(jpending.Events) != 1 {
		t.Fatalf("jetstream second batch: %+v", jpending)
	}

	c.kill()
	c.start()

	var again batch
	if c.do("GET", "/v1/subscriptions/keep/events", admin, "", &again); again.Batch != pending.Batch || !slices.Equal(ids(again), ids(pending)) {
		t.Fatalf("native subscription after kill -9: %+v, want batch %+v", again, pending)
	}
	// The acknowledgement its answer carried is stored: the request sent
	// again finds it done and hands out the same pending batch.
	var lagain batch
	if c.do("GET", loopNext, admin, "", &lagain); lagain.Batch != lpending.Batch || !slices.Equal(ids(lagain), ids(lpending)) {
		t.Fatalf("fetch and ack after kill -9: %+v, want batch %+v", lagain, lpending)
	}
	// The client states its position: the last event it took, as before the kill.
	if zagain := poll(all.Events[1].ID); !slices.Equal(zagain.Events, zpending.Events) {
		t.Fatalf("zulip queue after kill -9: %+v, want %+v", zagain, zpending)
	}
	var jagain jbatch
	if c.do("GET", "/3/events", access, "", &jagain); jagain.BatchID != jpending.BatchID || !slices.Equal(jagain.Events, jpending.Events) {
		t.Fatalf("jetstream subscription after kill -9: %+v, want %+v", jagain, jpending)
	}
}
