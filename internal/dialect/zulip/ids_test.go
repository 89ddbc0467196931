package zulip

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"
)

// id returns an event's id.
func id(t *testing.T, ev map[string]any) int64 {
	t.Helper()
	f, ok := ev["id"].(float64)
	if !ok {
		t.Fatalf("event without id: %v", ev)
	}
	return int64(f)
}

// one returns the single event of a successful poll, of type typ.
func one(t *testing.T, r resp, typ string) map[string]any {
	t.Helper()
	evs := r.events()
	if r.Status != 200 || len(evs) != 1 || evs[0]["type"] != typ {
		t.Fatalf("want one %s: %d %s", typ, r.Status, r.Raw)
	}
	return evs[0]
}

// TestEventIDsIncrease: heartbeats take ids like events do, in one
// strictly increasing sequence per queue; acknowledging a heartbeat loses
// no later event; a batch handed out again keeps its ids.
func TestEventIDsIncrease(t *testing.T) {
	e := newEnv(t, Config{Heartbeat: 5 * time.Millisecond})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	qid := e.register(bot, url.Values{"event_types": {`["message"]`}})
	ctx := context.Background()
	var ids []int64
	last := int64(-1)
	for _, step := range []struct {
		name string
		send string // a message sent before the poll
		ack  bool   // the poll acknowledges the last id seen
		typ  string // what it answers with
	}{
		{name: "first heartbeat", typ: "heartbeat"},
		{name: "heartbeat, previous not acknowledged", typ: "heartbeat"},
		{name: "heartbeat after acknowledging one", ack: true, typ: "heartbeat"},
		{name: "message after acknowledging a heartbeat", send: "one", ack: true, typ: "message"},
		{name: "heartbeat after acknowledging a message", ack: true, typ: "heartbeat"},
		{name: "message, heartbeat not acknowledged", send: "two", typ: "message"},
		{name: "message again, not acknowledged", typ: "message"},
		{name: "heartbeat after all", ack: true, typ: "heartbeat"},
	} {
		if step.send != "" {
			e.sendStream(iago, "Denmark", "t", step.send)
		}
		ack := int64(-1)
		if step.ack {
			ack = last
		}
		ev := one(t, e.poll(ctx, bot, qid, ack, false), step.typ)
		n := id(t, ev)
		if step.name == "message again, not acknowledged" {
			if n != last {
				t.Fatalf("%s: id %d, first handed out as %d", step.name, n, last)
			}
			continue
		}
		if len(ids) > 0 && n <= ids[len(ids)-1] {
			t.Fatalf("%s: id %d after %v", step.name, n, ids)
		}
		ids = append(ids, n)
		last = n
	}
	// An id above the last heartbeat's was never handed out.
	r := e.poll(ctx, bot, qid, last+1, true)
	if r.Status != 400 || r.str("msg") != fmt.Sprintf("Event %d was not in this queue", last+1) {
		t.Fatalf("id never issued: %d %s", r.Status, r.Raw)
	}
}

// TestHeartbeatKeepsQueueSettings: counting a heartbeat rewrites the
// queue's meta; its narrow and other settings stay as registered.
func TestHeartbeatKeepsQueueSettings(t *testing.T) {
	e := newEnv(t, Config{Heartbeat: 5 * time.Millisecond})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	e.addStream("Sweden")
	qid := e.register(bot, url.Values{"event_types": {`["message"]`}, "apply_markdown": {"true"},
		"narrow": {`[["stream","denmark"],{"operator":"sender","operand":"bot@example.com","negated":true}]`}})
	ctx := context.Background()
	hb := id(t, one(t, e.poll(ctx, bot, qid, -1, false), "heartbeat"))
	e.sendStream(iago, "Sweden", "t", "not in the narrow")
	e.sendStream(bot, "Denmark", "t", "negated sender")
	e.sendStream(iago, "Denmark", "t", "**in** the narrow")
	r := e.poll(ctx, bot, qid, hb, false)
	ev := one(t, r, "message")
	if m := ev["message"].(map[string]any); m["content"] != "<p><strong>in</strong> the narrow</p>" {
		t.Fatalf("after a heartbeat: %s", r.Raw)
	}
}
