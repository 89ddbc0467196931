package zulip

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/cursor"
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
// strictly increasing sequence along a client's polls; acknowledging a
// heartbeat loses no later event; what a poll does not acknowledge is
// handed out again, under the same id, as Zulip does.
func TestEventIDsIncrease(t *testing.T) {
	e := newEnv(t, Config{Heartbeat: 5 * time.Millisecond})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	qid := e.register(bot, url.Values{"event_types": {`["message"]`}})
	ctx := context.Background()
	acked, last := int64(-1), int64(-1) // what the previous poll acknowledged, and was handed
	for _, step := range []struct {
		name  string
		send  string // a message sent before the poll
		again bool   // the poll acknowledges what the previous one did, not what it was handed
		typ   string // what it answers with
	}{
		{name: "first heartbeat", typ: "heartbeat"},
		{name: "heartbeat, previous not acknowledged", again: true, typ: "heartbeat"},
		{name: "heartbeat after acknowledging one", typ: "heartbeat"},
		{name: "message after acknowledging a heartbeat", send: "one", typ: "message"},
		{name: "heartbeat after acknowledging a message", typ: "heartbeat"},
		{name: "message after acknowledging that", send: "two", typ: "message"},
		{name: "message again, not acknowledged", again: true, typ: "message"},
		{name: "heartbeat after all", typ: "heartbeat"},
	} {
		if step.send != "" {
			e.sendStream(iago, "Denmark", "t", step.send)
		}
		ack := last
		if step.again {
			ack = acked
		}
		n := id(t, one(t, e.poll(ctx, bot, qid, ack, false), step.typ))
		if step.again {
			if n != last {
				t.Fatalf("%s: id %d, handed out as %d before", step.name, n, last)
			}
			continue
		}
		if n <= last {
			t.Fatalf("%s: id %d after %d", step.name, n, last)
		}
		acked, last = ack, n
	}
}

// TestLastEventIDChecked: a poll's last_event_id must be one the queue
// handed out (an event it delivers, a heartbeat from its start to the
// log's end) or register's -1; anything else is Zulip's BAD_REQUEST, and
// nothing is passed over on its say-so.
func TestLastEventIDChecked(t *testing.T) {
	e := newEnv(t, Config{Heartbeat: 5 * time.Millisecond})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	e.addStream("Sweden")
	ctx := context.Background()
	types := url.Values{"event_types": {`["message"]`}}
	narrow := url.Values{"event_types": {`["message"]`}, "narrow": {`[["stream","denmark"]]`}}
	q, all := e.register(bot, narrow), e.register(bot, types)
	e.sendStream(iago, "Denmark", "t", "d1")
	e.sendStream(iago, "Sweden", "t", "s1")
	e.sendStream(iago, "Denmark", "t", "d2")
	later := e.register(bot, narrow)
	r := e.poll(ctx, bot, all, -1, true)
	if fmt.Sprint(contents(r)) != "[d1 s1 d2]" {
		t.Fatalf("all: %s", r.Raw)
	}
	d1, s1, d2 := id(t, r.events()[0]), id(t, r.events()[1]), id(t, r.events()[2])
	hb := id(t, one(t, e.poll(ctx, bot, later, -1, false), "heartbeat"))
	for _, tc := range []struct {
		name  string
		queue string
		last  int64
		want  string // the events, or the error's message
	}{
		{"register's -1", q, -1, "[d1 d2]"},
		{"an event it delivered", q, d1, "[d2]"},
		{"the last event it delivered", q, d2, "[]"},
		{"a heartbeat it sent", later, hb, "[]"},
		{"below -1", q, -2, "Event -2 was not in this queue"},
		{"an event outside its narrow", q, s1, fmt.Sprintf("Event %d was not in this queue", s1)},
		{"an event before the queue", later, d1, fmt.Sprintf("Event %d was not in this queue", d1)},
		{"the event the queue starts after", later, d2, fmt.Sprintf("Event %d was not in this queue", d2)},
		{"an event past the log", q, d2 + 100*idStep, fmt.Sprintf("Event %d was not in this queue", d2+100*idStep)},
		{"a heartbeat past the log", q, d2 + 100*idStep + 1, fmt.Sprintf("Event %d was not in this queue", d2+100*idStep+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.poll(ctx, bot, tc.queue, tc.last, true)
			got := fmt.Sprint(contents(r))
			if r.Status != 200 {
				got = r.str("msg")
				if r.Status != 400 || r.str("code") != "BAD_REQUEST" {
					t.Fatalf("%d %s", r.Status, r.Raw)
				}
			}
			if got != tc.want {
				t.Fatalf("%d %s, want %s", r.Status, r.Raw, tc.want)
			}
		})
	}
}

// TestHeartbeatCarriesThePosition: a heartbeat's id says how far its poll
// found nothing for the client, past the events its narrow excludes, so
// the next poll starts there; an event after it still has a greater id.
func TestHeartbeatCarriesThePosition(t *testing.T) {
	e := newEnv(t, Config{Heartbeat: 5 * time.Millisecond})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	e.addStream("Sweden")
	ctx := context.Background()
	q := e.register(bot, url.Values{"event_types": {`["message"]`}, "narrow": {`[["stream","denmark"]]`}})
	all := e.register(bot, url.Values{"event_types": {`["message"]`}})
	for i := range 3 {
		e.sendStream(iago, "Sweden", "t", fmt.Sprint("s", i))
	}
	r := e.poll(ctx, bot, all, -1, true)
	if len(r.events()) != 3 {
		t.Fatalf("all: %s", r.Raw)
	}
	passed := id(t, r.events()[2])
	hb := id(t, one(t, e.poll(ctx, bot, q, -1, false), "heartbeat"))
	if hb <= passed {
		t.Fatalf("heartbeat %d, not past the excluded event %d", hb, passed)
	}
	e.sendStream(iago, "Denmark", "t", "d")
	ev := one(t, e.poll(ctx, bot, q, hb, true), "message")
	if id(t, ev) <= hb {
		t.Fatalf("message %d after heartbeat %d", id(t, ev), hb)
	}
}

// TestHeartbeatKeepsQueueSettings: after a heartbeat, the queue's narrow
// and other settings hold as registered.
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

// TestQueueOfAnOlderHerald: a queue whose ids an older herald counted in
// the engine is BAD_EVENT_QUEUE_ID: the client registers again.
func TestQueueOfAnOlderHerald(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	qid := e.register(bot, nil)
	id, _ := queueCursorID("zulip", qid)
	if _, err := e.core.Cursors.Modify(context.Background(), id, func(st *cursor.State) {
		var m map[string]any
		json.Unmarshal(st.Meta, &m)
		delete(m, "scheme")
		m["heartbeats"] = 3
		st.Meta, _ = json.Marshal(m)
	}); err != nil {
		t.Fatal(err)
	}
	if r := e.poll(context.Background(), bot, qid, -1, true); r.str("code") != "BAD_EVENT_QUEUE_ID" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}

// TestHeartbeatEncoding: a heartbeat is written as json.Marshal writes the
// event, for any id.
func TestHeartbeatEncoding(t *testing.T) {
	for _, id := range []int64{0, 1, idStep + 1, 1<<53 - 1, -1} {
		want, _ := json.Marshal(map[string]any{"type": "heartbeat", "id": id})
		if got := heartbeat(id); string(got) != string(want) {
			t.Errorf("heartbeat(%d) = %s, want %s", id, got, want)
		}
	}
}
