package zulip

import (
	"context"
	"net/url"
	"testing"
	"time"
)

// Two herald nodes serve the same queues: a queue is one cursor in the
// engine that no poll changes, and its ids are log positions, the same on
// every node.

// TestEventIDsAcrossNodes: polls of one queue on two nodes, one after the
// other, hand out ids in order and never one twice; at the same time,
// from the same id, the same ones.
func TestEventIDsAcrossNodes(t *testing.T) {
	a := newEnv(t, Config{Heartbeat: 5 * time.Millisecond})
	b := a.node(Config{Heartbeat: 5 * time.Millisecond})
	bot := a.addUser("bot@example.com", "Bot")
	iago := a.addUser("iago@example.com", "Iago")
	a.addStream("Denmark")
	qid := a.register(bot, url.Values{"event_types": {`["message"]`}})
	ctx := context.Background()
	last := int64(-1)
	seen := map[int64]bool{}
	take := func(r resp) {
		t.Helper()
		if r.Status != 200 || len(r.events()) == 0 {
			t.Fatalf("poll: %d %s", r.Status, r.Raw)
		}
		for _, ev := range r.events() {
			n := id(t, ev)
			if seen[n] && ev["type"] == "heartbeat" {
				t.Fatalf("heartbeat id %d handed out twice", n)
			}
			seen[n] = true
			last = max(last, n)
		}
	}
	for i, node := range []*env{a, b, a, b} {
		if i == 2 {
			a.sendStream(iago, "Denmark", "t", "between")
		}
		before := last
		r := node.poll(ctx, bot, qid, last, false)
		take(r)
		if last <= before {
			t.Fatalf("poll %d: ids %s after %d", i, r.Raw, before)
		}
	}
	// Blocked on both nodes at once from the same id, both time out: both
	// answer with the same heartbeat, past what they acknowledged (one
	// question, one answer, as Zulip hands out what is not acknowledged
	// again).
	for range 5 {
		before := last
		rs := make(chan resp, 2)
		for _, node := range []*env{a, b} {
			go func() { rs <- node.poll(ctx, bot, qid, before, false) }()
		}
		r1, r2 := <-rs, <-rs
		h1, h2 := one(t, r1, "heartbeat"), one(t, r2, "heartbeat")
		if id(t, h1) != id(t, h2) || id(t, h1) <= before {
			t.Fatalf("racing heartbeats after %d: %s and %s", before, r1.Raw, r2.Raw)
		}
		take(r1)
	}
	// Acknowledging the last heartbeat loses nothing sent after it.
	a.sendStream(iago, "Denmark", "t", "after")
	ev := one(t, b.poll(ctx, bot, qid, last, false), "message")
	if id(t, ev) <= last || ev["message"].(map[string]any)["content"] != "after" {
		t.Fatalf("after the heartbeats: %v", ev)
	}
}

// TestTwoPollsRaceAcrossNodes: polls blocked on two nodes are woken by one
// message; both answer with it, under the same id, and the client's
// acknowledgement means the same on either node.
func TestTwoPollsRaceAcrossNodes(t *testing.T) {
	a := newEnv(t, Config{})
	b := a.node(Config{})
	bot := a.addUser("bot@example.com", "Bot")
	iago := a.addUser("iago@example.com", "Iago")
	a.addStream("Denmark")
	qid := a.register(bot, url.Values{"event_types": {`["message"]`}})
	ctx := context.Background()
	ra, rb := make(chan resp, 1), make(chan resp, 1)
	go func() { ra <- a.poll(ctx, bot, qid, -1, false) }()
	go func() { rb <- b.poll(ctx, bot, qid, -1, false) }()
	a.waitPolling(qid, ra)
	b.waitPolling(qid, rb)
	a.sendStream(iago, "Denmark", "t", "both")
	ea, eb := one(t, <-ra, "message"), one(t, <-rb, "message")
	if id(t, ea) != id(t, eb) {
		t.Fatalf("one message, ids %d and %d", id(t, ea), id(t, eb))
	}
	if r := a.poll(ctx, bot, qid, id(t, ea), true); r.Status != 200 || len(r.events()) != 0 {
		t.Fatalf("ack on node a: %d %s", r.Status, r.Raw)
	}
	if r := b.poll(ctx, bot, qid, id(t, ea), true); r.Status != 200 || len(r.events()) != 0 {
		t.Fatalf("node b after the ack on a: %d %s", r.Status, r.Raw)
	}
}

// TestPollRacingDeleteOnAnotherNode: a queue deleted on one node while a
// poll blocks on another is BAD_EVENT_QUEUE_ID to that poll when it wakes,
// and stays deleted.
func TestPollRacingDeleteOnAnotherNode(t *testing.T) {
	a := newEnv(t, Config{})
	b := a.node(Config{})
	bot := a.addUser("bot@example.com", "Bot")
	iago := a.addUser("iago@example.com", "Iago")
	a.addStream("Denmark")
	qid := a.register(bot, url.Values{"event_types": {`["message"]`}})
	ctx := context.Background()
	got := make(chan resp, 1)
	go func() { got <- a.poll(ctx, bot, qid, -1, false) }()
	a.waitPolling(qid, got)
	if d := b.call(ctx, bot, "DELETE", "/api/v1/events", url.Values{"queue_id": {qid}}, form); d.Status != 200 {
		t.Fatalf("delete on node b: %d %s", d.Status, d.Raw)
	}
	a.sendStream(iago, "Denmark", "t", "wake up")
	if r := <-got; r.Status != 400 || r.str("code") != "BAD_EVENT_QUEUE_ID" {
		t.Fatalf("blocked poll on node a: %d %s", r.Status, r.Raw)
	}
	if r := b.poll(ctx, bot, qid, -1, true); r.str("code") != "BAD_EVENT_QUEUE_ID" {
		t.Fatalf("deleted queue came back: %s", r.Raw)
	}
}

// TestDeletedOnAnotherNode: a node that served a queue before learns that
// another node deleted it on its next poll, whatever the poll's
// last_event_id: BAD_EVENT_QUEUE_ID, so the client registers again.
func TestDeletedOnAnotherNode(t *testing.T) {
	a := newEnv(t, Config{})
	b := a.node(Config{})
	bot := a.addUser("bot@example.com", "Bot")
	iago := a.addUser("iago@example.com", "Iago")
	a.addStream("Denmark")
	qid := a.register(bot, url.Values{"event_types": {`["message"]`}})
	ctx := context.Background()
	a.sendStream(iago, "Denmark", "t", "x")
	r := a.poll(ctx, bot, qid, -1, true)
	if len(r.events()) != 1 {
		t.Fatalf("poll on a: %d %s", r.Status, r.Raw)
	}
	x := id(t, r.events()[0])
	if d := b.call(ctx, bot, "DELETE", "/api/v1/events", url.Values{"queue_id": {qid}}, form); d.Status != 200 {
		t.Fatalf("delete on node b: %d %s", d.Status, d.Raw)
	}
	for _, last := range []int64{x + 5*idStep, x, -1} {
		if r := a.poll(ctx, bot, qid, last, true); r.Status != 400 || r.str("code") != "BAD_EVENT_QUEUE_ID" {
			t.Fatalf("poll on a from %d after the delete: %d %s", last, r.Status, r.Raw)
		}
	}
}
