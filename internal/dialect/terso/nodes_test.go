package terso

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
)

// TestTwoNodesOneSubscription: one user's Gets and Deletes alternate
// between two nodes, each starting from the subscription as it last saw
// it, which the other node has changed since: no event is lost, none
// comes back after its batch was deleted, and a Get repeated on the other
// node returns the same batch.
func TestTwoNodesOneSubscription(t *testing.T) {
	a := setup(t, Config{})
	b := a.otherNode()
	u := a.addUser(`{"name":"two"}`)
	get := func(n *env, name, path string) eventsDto {
		t.Helper()
		var d eventsDto
		if r := n.sdk("GET", path, u.AccessKey, "", &d); r.status != 200 {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		return d
	}
	del := func(n *env, name, batchID string) {
		t.Helper()
		if r := n.sdk("DELETE", "/3/events", u.AccessKey, `{"BatchId":"`+batchID+`"}`, nil); r.status != 204 {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	want := func(name string, d eventsDto, n ...int) {
		t.Helper()
		if fmt.Sprint(d.ids(t)) != ids(n...) {
			t.Fatalf("%s: %v, want %v", name, d.ids(t), ids(n...))
		}
	}
	appendN := func(from, to int) {
		for i := from; i < to; i++ {
			a.append("dev", "HeartbeatEvent", heartbeat("dev", guid(i)))
		}
	}

	get(a, "subscribe on a", "/3/events")
	get(b, "first get on b", "/3/events") // b remembers it without a batch
	appendN(0, 3)
	x := get(a, "a forms x", "/3/events/2")
	want("a forms x", x, 0, 1)
	del(b, "b deletes x, which it never saw", x.BatchID)
	y := get(a, "a, which remembers x pending", "/3/events/2")
	want("a after b deleted x", y, 2)

	appendN(3, 5)
	if again := get(b, "b, which remembers no batch", "/3/events/1"); again.BatchID != y.BatchID {
		t.Fatalf("b: batch %s %v, want y (%s) again", again.BatchID, again.ids(t), y.BatchID)
	} else {
		want("b repeats y", again, 2)
	}
	del(a, "a deletes y, rewritten by b since", y.BatchID)
	z := get(b, "b forms z", "/3/events")
	want("b forms z", z, 3, 4)
	if z2 := get(a, "a", "/3/events"); z2.BatchID != z.BatchID {
		t.Fatalf("a: batch %s %v, want z (%s)", z2.BatchID, z2.ids(t), z.BatchID)
	}
	del(b, "b deletes z", z.BatchID)
	if d := get(a, "a, which remembers z pending", "/3/events"); d.Count != 0 {
		t.Fatalf("a after z was deleted: %v", d.ids(t))
	}

	appendN(5, 7)
	w := get(a, "a forms w", "/3/events")
	want("a forms w", w, 5, 6)
	del(b, "b deletes w", w.BatchID)
	appendN(7, 8)
	del(a, "a deletes w again, as it remembers it pending", w.BatchID)
	want("a after w", get(a, "a after w", "/3/events"), 7)
	last := get(b, "b after w", "/3/events")
	want("b after w", last, 7)
	del(b, "b deletes it", last.BatchID)

	// A batch the other node replaced (a Get with a larger limit) while
	// this one remembers it pending: deleting it deletes its own events.
	appendN(8, 11)
	v := get(a, "a forms v", "/3/events/2")
	want("a forms v", v, 8, 9)
	want("b replaces v", get(b, "b replaces v", "/3/events/3"), 8, 9, 10)
	del(a, "a deletes v, replaced on b", v.BatchID)
	want("b after v", get(b, "b after v", "/3/events"), 10)
	want("a after v", get(a, "a after v", "/3/events"), 10)
}

// TestViewFromAnOlderState: a filtered Get formed from the subscription
// as it was before another request (on another node, say) changed it —
// its compare-and-set then loses — hands out nothing that request deleted.
func TestViewFromAnOlderState(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"view"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	e.append("a", "HeartbeatEvent", heartbeat("a", guid(0)), heartbeat("a", guid(1)))
	old, err := e.core.Cursors.Get(t.Context(), subscriptionID(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	if r := e.sdk("DELETE", "/3/events", u.AccessKey, idsBody(0), nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	p, err := parseGetParams("100", url.Values{"device": {"a"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.api.view(t.Context(), old, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(wireIDs(t, b.Events)); got != ids(1) {
		t.Fatalf("view from the older state: %v, want %v", got, ids(1))
	}
	// And the batch stored is that one: deleting it leaves nothing.
	if r := e.sdk("DELETE", "/3/events", u.AccessKey, `{"BatchId":"`+b.ID+`"}`, nil); r.status != 204 {
		t.Fatalf("delete the view: %d %s", r.status, r.body)
	}
	var d eventsDto
	if e.sdk("GET", "/3/events", u.AccessKey, "", &d); d.Count != 0 {
		t.Fatalf("left: %v", d.ids(t))
	}
}

func wireIDs(t *testing.T, evs []wireEvent) []string {
	t.Helper()
	d := eventsDto{Events: make([]json.RawMessage, len(evs))}
	for i := range evs {
		d.Events[i] = evs[i].Data
	}
	return d.ids(t)
}
