package terso

import (
	"fmt"
	"testing"
)

// TestRoundTrips counts what each request asks of the cursor bucket: a
// node starts from the subscription as it last read or stored it, so the
// SDK's loop — a Get that hands out a batch, the Delete of it — is one
// write each and no read; an answer that writes nothing is confirmed by
// one read.
func TestRoundTrips(t *testing.T) {
	e := setupCounted(t)
	u := e.addUser(`{"name":"trips"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil) // subscribes
	var b eventsDto
	step := func(name, method, path, body string, gets, updates int64) {
		t.Helper()
		e.cursors.Gets.Store(0)
		e.cursors.Updates.Store(0)
		var out *eventsDto
		if method == "GET" {
			b, out = eventsDto{}, &b
		}
		if r := e.sdk(method, path, u.AccessKey, body, out); r.status >= 300 {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		if g, up := e.cursors.Gets.Load(), e.cursors.Updates.Load(); g != gets || up != updates {
			t.Errorf("%s: %d cursor reads, %d writes; want %d, %d", name, g, up, gets, updates)
		}
	}
	step("the node's first GET", "GET", "/3/events", "", 1, 0)
	for i := range 6 {
		dev := "a"
		if i%2 == 1 {
			dev = "b"
		}
		e.append(dev, "HeartbeatEvent", heartbeat(dev, guid(i)))
	}
	step("GET finding events", "GET", "/3/events/2", "", 0, 1)
	if b.ids(t) == nil || fmt.Sprint(b.ids(t)) != ids(0, 1) {
		t.Fatalf("batch %v", b.ids(t))
	}
	step("GET of the pending batch", "GET", "/3/events/2", "", 0, 1)
	first := b.BatchID
	step("DELETE of the batch", "DELETE", "/3/events", `{"BatchId":"`+first+`"}`, 0, 1)
	// The Delete formed no next batch (no read of the log): the next Get does.
	if st, err := e.core.Cursors.Get(t.Context(), subscriptionID(u.ID)); err != nil || st.Batch != nil {
		t.Fatalf("after the delete: batch %+v, %v", st.Batch, err)
	}
	step("DELETE of the batch again", "DELETE", "/3/events", `{"BatchId":"`+first+`"}`, 1, 0)
	step("DELETE of an unknown batch", "DELETE", "/3/events", `{"BatchId":"`+guid(99)+`"}`, 1, 0)
	step("DELETE by event ids", "DELETE", "/3/events", idsBody(3), 1, 1)
	step("filtered GET", "GET", "/3/events/100?device=a", "", 1, 1)
	if fmt.Sprint(b.ids(t)) != ids(2, 4) {
		t.Fatalf("device a: %v", b.ids(t))
	}
	step("DELETE of the filtered batch", "DELETE", "/3/events", `{"BatchId":"`+b.BatchID+`"}`, 0, 1)
	step("GET of the rest", "GET", "/3/events", "", 0, 1)
	if fmt.Sprint(b.ids(t)) != ids(5) {
		t.Fatalf("rest: %v", b.ids(t))
	}
	step("DELETE of the last batch", "DELETE", "/3/events", `{"BatchId":"`+b.BatchID+`"}`, 0, 1)
	step("GET finding nothing", "GET", "/3/events", "", 1, 0)
	if b.Count != 0 {
		t.Fatalf("nothing pending, got %v", b.ids(t))
	}
}

// TestLimitWhilePending: a GET returns at most limit events, the oldest
// pending, whatever batch an earlier GET with another limit left pending
// (issue 18, hole 9).
func TestLimitWhilePending(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"limits"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	for i := range 14 {
		e.append("dev", "HeartbeatEvent", heartbeat("dev", guid(i)))
	}
	get := func(path string) eventsDto {
		t.Helper()
		var d eventsDto
		if r := e.sdk("GET", path, u.AccessKey, "", &d); r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		return d
	}
	all := make([]int, 14)
	for i := range all {
		all[i] = i
	}
	if d := get("/3/events"); fmt.Sprint(d.ids(t)) != ids(all...) {
		t.Fatalf("default limit: %v", d.ids(t))
	}
	one := get("/3/events/1")
	if fmt.Sprint(one.ids(t)) != ids(0) {
		t.Fatalf("/3/events/1 with 14 pending: %d events %v", one.Count, one.ids(t))
	}
	if d := get("/3/events/5"); fmt.Sprint(d.ids(t)) != ids(0, 1, 2, 3, 4) {
		t.Fatalf("/3/events/5: %d events %v", d.Count, d.ids(t))
	}
	if d := get("/3/events/100"); fmt.Sprint(d.ids(t)) != ids(all...) {
		t.Fatalf("/3/events/100 after /3/events/5: %d of 14", d.Count)
	}
	// A batch handed out before still deletes exactly its own events.
	if r := e.sdk("DELETE", "/3/events", u.AccessKey, `{"BatchId":"`+one.BatchID+`"}`, nil); r.status != 204 {
		t.Fatalf("delete the batch of /3/events/1: %d", r.status)
	}
	if d := get("/3/events/100"); fmt.Sprint(d.ids(t)) != ids(all[1:]...) {
		t.Fatalf("after deleting the first event's batch: %v", d.ids(t))
	}
}
