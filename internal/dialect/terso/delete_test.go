package terso

import (
	"fmt"
	"testing"
)

func ids(n ...int) string {
	out := make([]string, len(n))
	for i, k := range n {
		out[i] = guid(k)
	}
	return fmt.Sprint(out)
}

func idsBody(n ...int) string {
	b := `{"EventIds":[`
	for i, k := range n {
		if i > 0 {
			b += ","
		}
		b += `"` + guid(k) + `"`
	}
	return b + `],"BatchId":null}`
}

// TestDeleteByEventIds: single events deleted by id never come back, the
// rest of the batch stays pending under its id, and deleting the batch
// afterwards removes exactly the rest.
func TestDeleteByEventIds(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"ids"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	for i := range 6 {
		e.append("dev", "HeartbeatEvent", heartbeat("dev", guid(i)))
	}
	var b1 eventsDto
	e.sdk("GET", "/3/events/4", u.AccessKey, "", &b1)
	if fmt.Sprint(b1.ids(t)) != ids(0, 1, 2, 3) {
		t.Fatalf("batch %v", b1.ids(t))
	}
	// A prefix (0), a hole (2), one outside the batch (5), an unknown id
	// and different casing.
	body := idsBody(0, 2, 5, 77)
	if r := e.sdk("DELETE", "/3/events", u.AccessKey, body, nil); r.status != 204 {
		t.Fatalf("delete ids: %d %s", r.status, r.body)
	}
	// Asked with the same limit: the rest of the same batch. (A larger
	// limit would get the oldest pending events up to it, 4 included.)
	var b2 eventsDto
	e.sdk("GET", "/3/events/4", u.AccessKey, "", &b2)
	if b2.BatchID != b1.BatchID || fmt.Sprint(b2.ids(t)) != ids(1, 3) {
		t.Fatalf("after deleting ids: %s %v (batch %s)", b2.BatchID, b2.ids(t), b1.BatchID)
	}
	// The batch id still deletes what is left of it.
	if r := e.sdk("DELETE", "/3/events", u.AccessKey, `{"BatchId":"`+b1.BatchID+`"}`, nil); r.status != 204 {
		t.Fatalf("delete batch: %d", r.status)
	}
	var b3 eventsDto
	e.sdk("GET", "/3/events/100", u.AccessKey, "", &b3)
	if fmt.Sprint(b3.ids(t)) != ids(4) {
		t.Fatalf("after batch: %v", b3.ids(t))
	}
	// Deleting every event of a batch by id empties it.
	e.sdk("DELETE", "/3/events", u.AccessKey, idsBody(4), nil)
	var b4 eventsDto
	e.sdk("GET", "/3/events/100", u.AccessKey, "", &b4)
	if b4.Count != 0 {
		t.Fatalf("after deleting all: %v", b4.ids(t))
	}
	st, err := e.core.Cursors.Get(t.Context(), subscriptionID(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	if m := metaOf(&st); len(m.Deleted) != 0 || st.Batch != nil {
		t.Fatalf("holes left behind: %+v %+v", m, st.Batch)
	}
	e.append("dev", "HeartbeatEvent", heartbeat("dev", guid(6)))
	var b5 eventsDto
	e.sdk("GET", "/3/events/100", u.AccessKey, "", &b5)
	if fmt.Sprint(b5.ids(t)) != ids(6) {
		t.Fatalf("next: %v", b5.ids(t))
	}
}

// TestFilters: type, device and eventversion select among the pending
// events; what they leave out stays pending for an unfiltered Get.
func TestFilters(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"filters"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	e.append("a", "HeartbeatEvent", heartbeat("a", guid(0)))
	e.append("b", "HeartbeatEvent", heartbeat("b", guid(1)))
	e.append("a", "CommandQueuedEvent", `{"Device":"a","Type":"CommandQueuedEvent","EventId":"`+guid(2)+`","EventTime":"2018-05-19T01:16:21Z","Version":3}`)
	e.append("b", "HeartbeatEvent", heartbeat("b", guid(3)))

	get := func(q string) eventsDto {
		t.Helper()
		var d eventsDto
		if r := e.sdk("GET", "/3/events/100"+q, u.AccessKey, "", &d); r.status != 200 {
			t.Fatalf("%s: %d %s", q, r.status, r.body)
		}
		return d
	}
	if d := get("?device=b"); fmt.Sprint(d.ids(t)) != ids(1, 3) {
		t.Fatalf("device=b: %v", d.ids(t))
	}
	if d := get("?type=CommandQueuedEvent"); fmt.Sprint(d.ids(t)) != ids(2) {
		t.Fatalf("type: %v", d.ids(t))
	}
	if d := get("?type=heartbeatevent&device=a&sort=asc"); fmt.Sprint(d.ids(t)) != ids(0) {
		t.Fatalf("type+device: %v", d.ids(t))
	}
	if d := get("?eventversion=3"); fmt.Sprint(d.ids(t)) != ids(2) {
		t.Fatalf("eventversion=3: %v", d.ids(t))
	}
	// Delete the filtered batch of device b: only its events go.
	fb := get("?Device=b") // query names match without regard to case
	if r := e.sdk("DELETE", "/3/events", u.AccessKey, `{"BatchId":"`+fb.BatchID+`"}`, nil); r.status != 204 {
		t.Fatalf("delete filtered: %d", r.status)
	}
	if d := get(""); fmt.Sprint(d.ids(t)) != ids(0, 2) {
		t.Fatalf("unfiltered after deleting b: %v", d.ids(t))
	}
	if d := get("?device=b"); d.Count != 0 {
		t.Fatalf("device b after delete: %v", d.ids(t))
	}
}

// TestDeviceScope: a user limited to some devices never sees the others.
func TestDeviceScope(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"scoped","devices":["a"]}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	e.append("a", "HeartbeatEvent", heartbeat("a", guid(0)))
	e.append("b", "HeartbeatEvent", heartbeat("b", guid(1)))
	var d eventsDto
	e.sdk("GET", "/3/events", u.AccessKey, "", &d)
	if fmt.Sprint(d.ids(t)) != ids(0) {
		t.Fatalf("scoped: %v", d.ids(t))
	}
	e.sdk("GET", "/3/events?device=b", u.AccessKey, "", &d)
	if d.Count != 0 {
		t.Fatalf("other device through a filter: %v", d.ids(t))
	}
	// Deleting another device's event id is a no-op.
	e.sdk("DELETE", "/3/events", u.AccessKey, idsBody(1), nil)
}

// TestDeletedBatchPassed: once every event of the pending batch is deleted
// by id, the position moves past them: the next Get returns the events
// after them, and no hole is left to carry.
func TestDeletedBatchPassed(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"passed"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	var acks []uint64
	for i := range 6 {
		acks = append(acks, e.append("dev", "HeartbeatEvent", heartbeat("dev", guid(i)))[0].Seq)
	}
	var b eventsDto
	e.sdk("GET", "/3/events/3", u.AccessKey, "", &b)
	if fmt.Sprint(b.ids(t)) != ids(0, 1, 2) {
		t.Fatalf("batch %v", b.ids(t))
	}
	if r := e.sdk("DELETE", "/3/events", u.AccessKey, idsBody(1, 0, 2), nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	st, err := e.core.Cursors.Get(t.Context(), subscriptionID(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	if m := metaOf(&st); st.Acked != acks[2] || len(m.Deleted) != 0 {
		t.Fatalf("after deleting the whole batch: position %d (want %d), holes %v", st.Acked, acks[2], m.Deleted)
	}
	var next eventsDto
	e.sdk("GET", "/3/events/3", u.AccessKey, "", &next)
	if fmt.Sprint(next.ids(t)) != ids(3, 4, 5) || next.BatchID == b.BatchID {
		t.Fatalf("next batch %s %v (deleted one %s)", next.BatchID, next.ids(t), b.BatchID)
	}
}
