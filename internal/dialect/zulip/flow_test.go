package zulip

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/cursor"
)

func TestServerSettingsWithoutAuth(t *testing.T) {
	e := newEnv(t, Config{})
	r := e.call(context.Background(), zuser{}, "GET", "/api/v1/server_settings", nil, query)
	if r.Status != 200 || r.str("zulip_version") == "" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	golden(t, "server_settings.json", scrub(r.Body, "realm_url", "realm_uri"))
}

// TestPythonClientFlow runs what python-zulip-api's call_on_each_message
// does: server_settings, register (form body, JSON values, narrow=[]),
// a blocking poll with last_event_id=-1, then polls acknowledging the
// highest id seen, and a re-register after BAD_EVENT_QUEUE_ID.
func TestPythonClientFlow(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")

	reg := e.call(context.Background(), bot, "POST", "/api/v1/register", url.Values{
		"event_types": {`["message"]`}, "narrow": {`[]`}, "apply_markdown": {"true"}, "frobnicate": {"1"},
	}, form)
	if reg.Status != 200 {
		t.Fatalf("register: %d %s", reg.Status, reg.Raw)
	}
	golden(t, "register_message.json", scrub(reg.Body, "queue_id"))
	qid := reg.str("queue_id")

	got := make(chan resp, 1)
	go func() { got <- e.poll(context.Background(), bot, qid, -1, false) }()
	e.waitPolling(qid, got)
	msgID := e.sendStream(iago, "Denmark", "greetings", "hi **there**\n\nbye")
	r := <-got
	if r.Status != 200 || len(r.events()) != 1 {
		t.Fatalf("poll: %d %s", r.Status, r.Raw)
	}
	ev := r.events()[0]
	if m := ev["message"].(map[string]any); int64(m["id"].(float64)) != msgID {
		t.Fatalf("message id %v, sent %d", m["id"], msgID)
	}
	last := int64(ev["id"].(float64))
	golden(t, "event_message_stream_html.json", scrub(ev, "id", "timestamp"))

	// The same poll again, not acknowledging: the event is still queued.
	if again := e.poll(context.Background(), bot, qid, -1, true); len(again.events()) != 1 {
		t.Fatalf("unacknowledged event not redelivered: %s", again.Raw)
	}
	// Acknowledged: nothing left.
	if r := e.poll(context.Background(), bot, qid, last, true); r.Status != 200 || len(r.events()) != 0 {
		t.Fatalf("after ack: %d %s", r.Status, r.Raw)
	}

	// The queue expires; the client gets BAD_EVENT_QUEUE_ID and registers again.
	e.clock.Advance(cursor.FollowTTL(DefaultLifespan) + time.Second)
	bad := e.poll(context.Background(), bot, qid, last, true)
	if bad.Status != 400 || bad.str("code") != "BAD_EVENT_QUEUE_ID" || bad.str("queue_id") != qid {
		t.Fatalf("expired queue: %d %s", bad.Status, bad.Raw)
	}
	golden(t, "error_bad_event_queue_id.json", scrub(bad.Body, "queue_id", "msg"))
	if bad.str("msg") != "Bad event queue id: "+qid {
		t.Fatalf("msg %q", bad.str("msg"))
	}
	qid2 := e.register(bot, url.Values{"event_types": {`["message"]`}})
	e.sendStream(iago, "Denmark", "greetings", "again")
	r = e.poll(context.Background(), bot, qid2, -1, true)
	if len(r.events()) != 1 || r.events()[0]["message"].(map[string]any)["content"] != "again" {
		t.Fatalf("after re-register: %s", r.Raw)
	}
}

// TestZulipJSFlow runs what zulip-js does: multipart register with
// event_types=null, polls with all parameters in the query string, and
// DELETE /events?queue_id=… with the query string.
func TestZulipJSFlow(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("js@example.com", "JS Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")

	reg := e.call(context.Background(), bot, "POST", "/api/v1/register", url.Values{"event_types": {"null"}}, multipartBody)
	if reg.Status != 200 || reg.Body["last_event_id"] != float64(-1) || reg.Body["realm_users"] == nil {
		t.Fatalf("register: %d %s", reg.Status, reg.Raw)
	}
	qid := reg.str("queue_id")
	e.sendStream(iago, "Denmark", "t", "hello")
	r := e.call(context.Background(), iago, "POST", "/api/v1/typing", url.Values{
		"op": {"start"}, "to": {fmt.Sprintf("[%d]", bot.ID)}}, multipartBody)
	if r.Status != 200 {
		t.Fatalf("typing: %d %s", r.Status, r.Raw)
	}
	e.waitTailed(t) // a blocking poll answers from the tail
	r = e.poll(context.Background(), bot, qid, -1, false)
	evs := r.events()
	if len(evs) != 2 || evs[0]["type"] != "message" || evs[1]["type"] != "typing" {
		t.Fatalf("events: %s", r.Raw)
	}
	if evs[0]["message"].(map[string]any)["content"] != "hello" || evs[0]["message"].(map[string]any)["content_type"] != "text/x-markdown" {
		t.Fatalf("apply_markdown defaults to false: %s", r.Raw)
	}
	golden(t, "event_typing.json", scrub(evs[1], "id"))
	if evs[0]["id"].(float64) >= evs[1]["id"].(float64) {
		t.Fatalf("ids not increasing: %s", r.Raw)
	}

	del := e.call(context.Background(), bot, "DELETE", "/api/v1/events", url.Values{"queue_id": {qid}}, query)
	if del.Status != 200 || del.Raw != `{"msg":"","result":"success"}`+"\n" {
		t.Fatalf("delete: %d %q", del.Status, del.Raw)
	}
	if r := e.poll(context.Background(), bot, qid, -1, false); r.str("code") != "BAD_EVENT_QUEUE_ID" {
		t.Fatalf("deleted queue: %s", r.Raw)
	}
	// python-zulip-api's deregister: DELETE with a form body.
	qid = e.register(bot, nil)
	del = e.call(context.Background(), bot, "DELETE", "/api/v1/events", url.Values{"queue_id": {qid}}, form)
	if del.Status != 200 {
		t.Fatalf("form delete: %d %s", del.Status, del.Raw)
	}
}

func TestHeartbeatIsAcknowledgeable(t *testing.T) {
	e := newEnv(t, Config{Heartbeat: 5 * time.Millisecond})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	qid := e.register(bot, url.Values{"event_types": {`["message"]`}})
	r := e.poll(context.Background(), bot, qid, -1, false)
	evs := r.events()
	if r.Status != 200 || len(evs) != 1 || evs[0]["type"] != "heartbeat" {
		t.Fatalf("heartbeat: %d %s", r.Status, r.Raw)
	}
	golden(t, "event_heartbeat.json", scrub(evs[0], "id"))
	hb := int64(evs[0]["id"].(float64))
	// Acknowledging a heartbeat loses no event published after it.
	e.sendStream(iago, "Denmark", "t", "after the heartbeat")
	r = e.poll(context.Background(), bot, qid, hb, false)
	if r.Status != 200 || len(r.events()) != 1 || r.events()[0]["type"] != "message" {
		t.Fatalf("after heartbeat: %d %s", r.Status, r.Raw)
	}
	if int64(r.events()[0]["id"].(float64)) <= hb {
		t.Fatalf("event id %v not after heartbeat %d", r.events()[0]["id"], hb)
	}
}

func TestImplicitRegisterOnGet(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	r := e.call(context.Background(), bot, "GET", "/api/v1/events", url.Values{
		"dont_block": {"true"}, "event_types": {`["message"]`}}, query)
	if r.Status != 200 || r.str("queue_id") == "" || r.Body["events"] == nil {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if r := e.poll(context.Background(), bot, r.str("queue_id"), -1, true); r.Status != 200 {
		t.Fatalf("implicit queue unusable: %d %s", r.Status, r.Raw)
	}
}

// TestTwoPollsRace: a second poll on a queue finishes the first, which
// answers with no events; the second gets the event.
func TestTwoPollsRace(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	qid := e.register(bot, url.Values{"event_types": {`["message"]`}})

	first := make(chan resp, 1)
	go func() { first <- e.poll(context.Background(), bot, qid, -1, false) }()
	e.waitPolling(qid, first)
	second := make(chan resp, 1)
	go func() { second <- e.poll(context.Background(), bot, qid, -1, false) }()
	r := <-first // released by the second
	if r.Status != 200 || len(r.events()) != 0 {
		t.Fatalf("first poll: %d %s", r.Status, r.Raw)
	}
	e.waitPolling(qid, second)
	e.sendStream(iago, "Denmark", "t", "x")
	r = <-second
	if r.Status != 200 || len(r.events()) != 1 {
		t.Fatalf("second poll: %d %s", r.Status, r.Raw)
	}
}

// TestReleasedPollLosesNothing: a poll released by a newer one answers
// with no events, and the client, polling again from what it
// acknowledged, gets what came meanwhile.
func TestReleasedPollLosesNothing(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	qid := e.register(bot, url.Values{"event_types": {`["message"]`}})
	e.sendStream(iago, "Denmark", "t", "x")
	ctx := context.Background()
	r := e.poll(ctx, bot, qid, -1, true)
	if len(r.events()) != 1 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	x := int64(r.events()[0]["id"].(float64))
	first := make(chan resp, 1)
	go func() { first <- e.poll(ctx, bot, qid, x, false) }()
	e.waitPolling(qid, first)
	if r := e.poll(ctx, bot, qid, x, true); r.Status != 200 || len(r.events()) != 0 { // releases the first
		t.Fatalf("releasing poll: %d %s", r.Status, r.Raw)
	}
	if r := <-first; r.Status != 200 || len(r.events()) != 0 {
		t.Fatalf("released poll: %d %s", r.Status, r.Raw)
	}
	e.sendStream(iago, "Denmark", "t", "y")
	if r := e.poll(ctx, bot, qid, x, true); fmt.Sprint(contents(r)) != "[y]" {
		t.Fatalf("after the release: %d %s", r.Status, r.Raw)
	}
}

// TestPollRacingDelete: deleting a queue finishes its blocked poll with
// BAD_EVENT_QUEUE_ID.
func TestPollRacingDelete(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	qid := e.register(bot, nil)
	got := make(chan resp, 1)
	go func() { got <- e.poll(context.Background(), bot, qid, -1, false) }()
	e.waitPolling(qid, got)
	if d := e.call(context.Background(), bot, "DELETE", "/api/v1/events", url.Values{"queue_id": {qid}}, form); d.Status != 200 {
		t.Fatalf("delete: %d %s", d.Status, d.Raw)
	}
	if r := <-got; r.Status != 400 || r.str("code") != "BAD_EVENT_QUEUE_ID" {
		t.Fatalf("blocked poll after delete: %d %s", r.Status, r.Raw)
	}
}

// TestExpiryDuringBlockedPoll: the idle clock passes the lifespan while a
// poll blocks; when it wakes, the queue is gone, and the client learns so.
func TestExpiryDuringBlockedPoll(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	qid := e.register(bot, url.Values{"event_types": {`["message"]`}})
	got := make(chan resp, 1)
	go func() { got <- e.poll(context.Background(), bot, qid, -1, false) }()
	e.waitPolling(qid, got)
	e.clock.Advance(cursor.FollowTTL(DefaultLifespan) + time.Second)
	e.sendStream(iago, "Denmark", "t", "wake up")
	if r := <-got; r.Status != 400 || r.str("code") != "BAD_EVENT_QUEUE_ID" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}

// TestQueueLifespan: an idle queue lives its lifespan after its last poll
// at least, and is gone once a quarter more has passed (its idle clock is
// stored again only every so often, not on each poll); queue_lifespan_secs
// is capped at 7 days.
func TestQueueLifespan(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	long := e.register(bot, url.Values{"queue_lifespan_secs": {"3600"}})
	short := e.register(bot, nil)
	capped := e.register(bot, url.Values{"queue_lifespan_secs": {"99999999"}})
	ctx := context.Background()
	for _, d := range []time.Duration{time.Minute, DefaultLifespan - time.Second, DefaultLifespan - time.Second} {
		e.clock.Advance(d)
		if r := e.poll(ctx, bot, short, -1, true); r.Status != 200 {
			t.Fatalf("default queue gone %s after its last poll: %s", d, r.Raw)
		}
	}
	e.clock.Advance(cursor.FollowTTL(DefaultLifespan) + time.Second)
	if r := e.poll(ctx, bot, short, -1, true); r.str("code") != "BAD_EVENT_QUEUE_ID" {
		t.Fatalf("default queue alive after %s idle: %s", cursor.FollowTTL(DefaultLifespan), r.Raw)
	}
	if r := e.poll(ctx, bot, long, -1, true); r.Status != 200 {
		t.Fatalf("hour-long queue expired after 33m: %s", r.Raw)
	}
	e.clock.Advance(cursor.FollowTTL(MaxLifespan))
	if r := e.poll(ctx, bot, capped, -1, true); r.str("code") != "BAD_EVENT_QUEUE_ID" {
		t.Fatalf("lifespan not capped at 7 days: %s", r.Raw)
	}
}

// TestQueueCap: a queue with more pending events than the cap expires
// with BAD_EVENT_QUEUE_ID instead of dropping events.
func TestQueueCap(t *testing.T) {
	e := newEnv(t, Config{MaxQueueEvents: 3})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	qid := e.register(bot, url.Values{"event_types": {`["message"]`}})
	ok := e.register(bot, url.Values{"event_types": {`["message"]`}})
	for i := range 3 {
		e.sendStream(iago, "Denmark", "t", fmt.Sprint(i))
	}
	if r := e.poll(context.Background(), bot, ok, -1, true); r.Status != 200 || len(r.events()) != 3 {
		t.Fatalf("at the cap: %d %s", r.Status, r.Raw)
	}
	e.sendStream(iago, "Denmark", "t", "one too many")
	if r := e.poll(context.Background(), bot, qid, -1, true); r.str("code") != "BAD_EVENT_QUEUE_ID" {
		t.Fatalf("over the cap: %d %s", r.Status, r.Raw)
	}
}

// TestEmptyEventTypes: event_types=[] is a queue of heartbeats only.
func TestEmptyEventTypes(t *testing.T) {
	e := newEnv(t, Config{Heartbeat: 5 * time.Millisecond})
	bot := e.addUser("bot@example.com", "Bot")
	e.addStream("Denmark")
	q := e.register(bot, url.Values{"event_types": {`[]`}})
	e.sendStream(bot, "Denmark", "t", "x")
	r := e.poll(context.Background(), bot, q, -1, false)
	if r.Status != 200 || len(r.events()) != 1 || r.events()[0]["type"] != "heartbeat" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}
