package zulip

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
)

// firstMessageIDs returns each stream's first_message_id (-1 for null) as
// GET /api/v1/streams, GET /api/v1/users/me/subscriptions and register's
// initial state show it; it fails the test if they disagree.
func (e *env) firstMessageIDs(u zuser) map[string]int64 {
	e.t.Helper()
	ctx := context.Background()
	collect := func(what string, list any) map[string]int64 {
		l, ok := list.([]any)
		if !ok {
			e.t.Fatalf("%s: no list: %v", what, list)
		}
		out := map[string]int64{}
		for _, v := range l {
			s := v.(map[string]any)
			raw, present := s["first_message_id"]
			if !present {
				e.t.Fatalf("%s: %v has no first_message_id", what, s)
			}
			id := int64(-1)
			if raw != nil {
				id = int64(raw.(float64))
			}
			out[s["name"].(string)] = id
		}
		return out
	}
	r := e.call(ctx, u, "GET", "/api/v1/streams", nil, query)
	if r.Status != 200 {
		e.t.Fatalf("streams: %d %s", r.Status, r.Raw)
	}
	got := collect("streams", r.Body["streams"])
	r = e.call(ctx, u, "GET", "/api/v1/users/me/subscriptions", nil, query)
	if r.Status != 200 {
		e.t.Fatalf("subscriptions: %d %s", r.Status, r.Raw)
	}
	subs := collect("subscriptions", r.Body["subscriptions"])
	r = e.call(ctx, u, "POST", "/api/v1/register", url.Values{"event_types": {`["stream","subscription"]`}}, form)
	if r.Status != 200 {
		e.t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	reg := collect("register streams", r.Body["streams"])
	regSubs := collect("register subscriptions", r.Body["subscriptions"])
	for name, id := range got {
		if subs[name] != id || reg[name] != id || regSubs[name] != id {
			e.t.Fatalf("%s: streams %d, subscriptions %d, register %d/%d", name, id, subs[name], reg[name], regSubs[name])
		}
	}
	return got
}

// TestStreamFirstMessageID: a stream's first_message_id is the id of its
// first message, null while it has none; later messages, other streams'
// and direct messages do not change it.
func TestStreamFirstMessageID(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	e.addStream("Quiet")
	if got := e.firstMessageIDs(bot); got["Denmark"] != -1 || got["Quiet"] != -1 {
		t.Fatalf("before any message: %v", got)
	}
	first := e.sendStream(bot, "Denmark", "castle", "one")
	e.sendStream(bot, "Denmark", "castle", "two")
	if r := e.call(context.Background(), bot, "POST", "/api/v1/messages", url.Values{
		"type": {"private"}, "to": {`["iago@example.com"]`}, "content": {"psst"}}, form); r.Status != 200 {
		t.Fatalf("dm: %d %s", r.Status, r.Raw)
	}
	if got := e.firstMessageIDs(bot); got["Denmark"] != first || got["Quiet"] != -1 {
		t.Fatalf("got %v, want Denmark %d and Quiet null", got, first)
	}
}

// TestStreamFirstMessageIDAfterRetention: once retention removed a
// stream's first message, first_message_id is its oldest message the log
// still holds, as Zulip's is after a deletion; null when none is left, and
// the next message sent is the first again.
func TestStreamFirstMessageIDAfterRetention(t *testing.T) {
	e := newEnvWith(t, Config{}, dialecttest.Options{Log: eventlog.Config{MaxBytes: 48 << 10}})
	ctx := context.Background()
	bot := e.addUser("bot@example.com", "Bot")
	for _, s := range []string{"Denmark", "Gone", "Busy"} {
		e.addStream(s)
	}
	e.sendStream(bot, "Gone", "t", "the only message of Gone")
	// A large first message: removing it frees room for several more, so
	// the second one outlives it.
	e.sendStream(bot, "Denmark", "t", strings.Repeat("x", 8000))
	_, removeThrough, _ := e.core.Log.Bounds(ctx)
	second := e.sendStream(bot, "Denmark", "t", "second")
	_, secondSeq, _ := e.core.Log.Bounds(ctx)
	if got := e.firstMessageIDs(bot); got["Denmark"] != second-1 || got["Gone"] == -1 {
		t.Fatalf("before retention: %v", got)
	}
	for i := 0; ; i++ {
		first, _, err := e.core.Log.Bounds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if first > removeThrough {
			if first > secondSeq {
				t.Fatalf("setup: retention removed the second message too (first %d)", first)
			}
			break
		}
		if i > 1000 {
			t.Fatal("setup: retention removed nothing")
		}
		e.sendStream(bot, "Busy", "t", "filler filler filler filler filler filler")
	}
	for range 2 { // the second read is served from what the first stored
		if got := e.firstMessageIDs(bot); got["Denmark"] != second || got["Gone"] != -1 || got["Busy"] == -1 {
			t.Fatalf("after retention: %v, want Denmark %d, Gone null", got, second)
		}
	}
	again := e.sendStream(bot, "Gone", "t", "back")
	if got := e.firstMessageIDs(bot); got["Gone"] != again || got["Denmark"] != second {
		t.Fatalf("after a new message: %v, want Gone %d", got, again)
	}
}
