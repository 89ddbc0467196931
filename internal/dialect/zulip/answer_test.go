package zulip

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// A poll's answer, built in a reused pollAnswer, is what encoding it would
// give, byte for byte, whatever the answer the pollAnswer held before.
func TestPollAnswer(t *testing.T) {
	var as answers
	msg := json.RawMessage(`{"flags":[],"id":8192,"message":{"content":"\u003cp\u003ea \u0026 b\u003c/p\u003e"},"type":"message"}`)
	typing := json.RawMessage(`{"id":12288,"op":"start","type":"typing"}`)
	for _, tc := range []struct {
		name      string
		evs       []json.RawMessage
		heartbeat int64 // answered instead of evs when not 0
		ignored   []string
	}{
		{name: "two events", evs: []json.RawMessage{msg, typing}},
		{name: "one", evs: []json.RawMessage{typing}},
		{name: "none"},
		{name: "heartbeat", heartbeat: 3*idStep + 2},
		{name: "none, with an ignored argument", ignored: []string{"apply_markdown"}},
		{name: "two, with ignored arguments", evs: []json.RawMessage{msg, typing}, ignored: []string{"a", "b"}},
		{name: "a long heartbeat", heartbeat: 1<<63 - 1},
		{name: "one again", evs: []json.RawMessage{msg}},
	} {
		pa := as.get()
		want := tc.evs
		if tc.heartbeat != 0 {
			pa.heartbeat(tc.heartbeat)
			want = []json.RawMessage{heartbeat(tc.heartbeat)}
		} else {
			pa.evs = append(pa.evs, tc.evs...)
		}
		if want == nil {
			want = []json.RawMessage{}
		}
		got, enc := httptest.NewRecorder(), httptest.NewRecorder()
		pa.write(got, tc.ignored)
		writeSuccess(enc, withIgnored(map[string]any{"events": want}, tc.ignored))
		if got.Body.String() != enc.Body.String() || got.Code != enc.Code ||
			got.Header().Get("Content-Type") != enc.Header().Get("Content-Type") {
			t.Fatalf("%s: written %d %q\nencoded %d %q", tc.name, got.Code, got.Body, enc.Code, enc.Body)
		}
		as.put(pa)
		for _, e := range pa.evs[:cap(pa.evs)] {
			if e != nil {
				t.Fatalf("%s: a reused answer keeps an event: %s", tc.name, e)
			}
		}
	}
}

// An answer with no events has an empty list, not null, however new.
func TestPollAnswerNone(t *testing.T) {
	for _, ignored := range [][]string{nil, {"apply_markdown"}} {
		got := httptest.NewRecorder()
		(&pollAnswer{}).write(got, ignored)
		var v struct{ Events []json.RawMessage }
		if json.Unmarshal(got.Body.Bytes(), &v) != nil || v.Events == nil {
			t.Fatalf("ignored %v: %s", ignored, got.Body)
		}
	}
}

// An answer with a large body is not kept for reuse.
func TestPollAnswerLarge(t *testing.T) {
	var as answers
	pa := as.get()
	pa.evs = append(pa.evs, make(json.RawMessage, maxKeptAnswer))
	pa.write(httptest.NewRecorder(), nil)
	as.put(pa)
	if pa.body != nil {
		t.Fatalf("kept a body of %d bytes", cap(pa.body))
	}
}

// Events answered, by a poll that parked or one that did not, are counted
// as delivered; a heartbeat is not an event.
func TestDeliveredCount(t *testing.T) {
	e := newEnv(t, Config{Heartbeat: 50 * time.Millisecond})
	bot := e.addUser("bot@example.com", "Bot")
	e.addStream("general")
	qid := e.register(bot, url.Values{"event_types": {`["message"]`}})
	delivered := func() float64 {
		var m dto.Metric
		if err := e.core.Metrics.EventsDelivered.WithLabelValues(dialectName).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	before := delivered()
	if r := e.poll(context.Background(), bot, qid, -1, false); len(r.events()) != 1 || r.events()[0]["type"] != "heartbeat" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	got := make(chan resp, 1)
	go func() { got <- e.poll(context.Background(), bot, qid, -1, false) }()
	e.waitPolling(qid, got)
	e.sendStream(bot, "general", "t", "one")
	if r := <-got; len(r.events()) != 1 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	e.sendStream(bot, "general", "t", "two")
	if r := e.poll(context.Background(), bot, qid, -1, true); len(r.events()) != 2 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if n := delivered() - before; n != 3 {
		t.Fatalf("%v delivered, want 3", n)
	}
}
