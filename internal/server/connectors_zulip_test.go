package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// zulipCred is a Zulip identity's login on one herald.
type zulipCred struct {
	ID    int64
	Email string
	Key   string
}

// zulipUser adds a Zulip user on h (or gives the connector's its key).
func (h *hop) zulipUser(email, name string) zulipCred {
	h.t.Helper()
	var u struct {
		UserID int64  `json:"user_id"`
		Realm  string `json:"realm"`
		APIKey string `json:"api_key"`
	}
	h.admin("POST", "/v1/zulip/users", fmt.Sprintf(`{"email":%q,"full_name":%q}`, email, name), &u)
	return zulipCred{ID: u.UserID, Email: email, Key: u.APIKey}
}

// zulip calls h's Zulip API as c: form in the query for GET, else in the
// body. It returns the status; out gets a successful answer.
func (h *hop) zulip(c zulipCred, method, path string, form url.Values, out any) (int, []byte) {
	h.t.Helper()
	u, body := h.URL()+path, ""
	if method == "GET" {
		u += "?" + form.Encode()
	} else {
		body = form.Encode()
	}
	req, _ := http.NewRequest(method, u, nil)
	req.SetBasicAuth(c.Email, c.Key)
	hdr := http.Header{"Authorization": req.Header["Authorization"], "Content-Type": {"application/x-www-form-urlencoded"}}
	st, _, b := request(h.t, nil, method, u, hdr, body, out)
	return st, b
}

// zulipSend sends a stream message to general as c and returns its id.
func (h *hop) zulipSend(c zulipCred, content string) int64 {
	h.t.Helper()
	var res struct{ ID int64 }
	if st, b := h.zulip(c, "POST", "/api/v1/messages", url.Values{"type": {"stream"}, "to": {"general"},
		"topic": {"t"}, "content": {content}}, &res); st != 200 || res.ID == 0 {
		h.t.Fatalf("send as %s: %d %s", c.Email, st, b)
	}
	return res.ID
}

// zulipQueue is a registered queue and how far it was read.
type zulipQueue struct {
	h    *hop
	c    zulipCred
	id   string
	last int64
}

func (h *hop) zulipRegister(c zulipCred) *zulipQueue {
	h.t.Helper()
	var reg struct {
		QueueID     string `json:"queue_id"`
		LastEventID int64  `json:"last_event_id"`
	}
	if st, b := h.zulip(c, "POST", "/api/v1/register", url.Values{}, &reg); st != 200 || reg.QueueID == "" {
		h.t.Fatalf("register: %d %s", st, b)
	}
	return &zulipQueue{h: h, c: c, id: reg.QueueID, last: reg.LastEventID}
}

// zulipEvent is a delivered event, with the fields the tests look at.
type zulipEvent struct {
	Type    string `json:"type"`
	ID      int64  `json:"id"`
	Message struct {
		ID          int64  `json:"id"`
		Content     string `json:"content"`
		SenderEmail string `json:"sender_email"`
	} `json:"message"`
	Since       float64 `json:"since"`
	Until       float64 `json:"until"`
	LostQueueID string  `json:"lost_queue_id"`
	Raw         string  `json:"-"`
}

// take reads the queue (without blocking) until it has want events, then
// checks that no more come for a while.
func (q *zulipQueue) take(want int) []zulipEvent {
	q.h.t.Helper()
	var got []zulipEvent
	poll := func() int {
		var res struct{ Events []json.RawMessage }
		if st, b := q.h.zulip(q.c, "GET", "/api/v1/events", url.Values{"queue_id": {q.id},
			"last_event_id": {fmt.Sprint(q.last)}, "dont_block": {"true"}}, &res); st != 200 {
			q.h.t.Fatalf("poll: %d %s", st, b)
		}
		for _, raw := range res.Events {
			var ev zulipEvent
			json.Unmarshal(raw, &ev)
			ev.Raw = string(raw)
			q.last = ev.ID
			got = append(got, ev)
		}
		return len(res.Events)
	}
	eventually(q.h.t, 30*time.Second, func() string {
		poll()
		if len(got) < want {
			return fmt.Sprintf("%d of %d events: %+v", len(got), want, got)
		}
		return ""
	})
	time.Sleep(300 * time.Millisecond) // a duplicate would come now
	if n := poll(); n > 0 || len(got) > want {
		q.h.t.Fatalf("%d events, want %d: %+v", len(got), want, got)
	}
	return got
}

// zulipPair is an upstream with the connector's identity (bot), another
// user (alice) and a stream, and a downstream following bot's queue,
// where bot has been given its herald key.
func zulipPair(t *testing.T) (up, down *hop, upBot, alice, downBot zulipCred) {
	up, down = startHop(t), startHop(t)
	upBot, alice = up.zulipUser("bot@example.com", "Bot"), up.zulipUser("alice@example.com", "Alice")
	up.admin("POST", "/v1/zulip/streams", `{"name":"general"}`, nil)
	down.admin("POST", "/v1/connectors", `{"name":"chat","kind":"zulip","url":"`+up.URL()+
		`","email":"bot@example.com","key":"`+upBot.Key+`"}`, nil)
	waitConnected(t, down, "chat", 0)
	downBot = down.zulipUser("bot@example.com", "Bot")
	if downBot.ID != upBot.ID {
		t.Fatalf("the mirrored identity's herald user id %d, upstream %d", downBot.ID, upBot.ID)
	}
	return up, down, upBot, alice, downBot
}

func contents(evs []zulipEvent) []string {
	var out []string
	for _, e := range evs {
		if e.Type == "message" {
			out = append(out, e.Message.Content)
		} else {
			out = append(out, e.Type)
		}
	}
	return out
}

// Messages, typing and direct messages made upstream reach the identity's
// herald queue in order, once; a message it sends through herald is sent
// by the upstream, which the upstream's other users see, and comes back
// once; the API herald does not serve is the upstream's.
func TestZulipConnector(t *testing.T) {
	up, down, _, alice, bot := zulipPair(t)
	q := down.zulipRegister(bot)
	witness := up.zulipRegister(alice)
	var ids []int64
	for i := range 3 {
		ids = append(ids, up.zulipSend(alice, fmt.Sprintf("m%d", i)))
	}
	if st, b := up.zulip(alice, "POST", "/api/v1/typing", url.Values{"op": {"start"}, "to": {fmt.Sprintf("[%d]", bot.ID)}}, nil); st != 200 {
		t.Fatalf("typing: %d %s", st, b)
	}
	var dm struct{ ID int64 }
	up.zulip(alice, "POST", "/api/v1/messages", url.Values{"type": {"direct"}, "to": {"bot@example.com"}, "content": {"psst"}}, &dm)
	ids = append(ids, dm.ID)
	ids = append(ids, down.zulipSend(bot, "sent through herald"))

	got := q.take(6)
	if want := []string{"m0", "m1", "m2", "typing", "psst", "sent through herald"}; !slices.Equal(contents(got), want) {
		t.Fatalf("downstream got %v, want %v", contents(got), want)
	}
	var gotIDs []int64
	for _, e := range got {
		if e.Type == "message" {
			gotIDs = append(gotIDs, e.Message.ID)
		}
	}
	if !slices.Equal(gotIDs, ids) || got[5].Message.SenderEmail != "bot@example.com" {
		t.Fatalf("message ids %v, want the upstream's %v; last %+v", gotIDs, ids, got[5])
	}
	// The upstream's own users see what bot sent through herald, once.
	if seen := contents(witness.take(6)); seen[5] != "sent through herald" {
		t.Fatalf("upstream witness saw %v", seen)
	}
	waitIngested(t, down, "chat", 6)

	// The users are the upstream's (herald has only bot), and so is any
	// path herald does not serve.
	var members struct{ Members []struct{ Email string } }
	if st, b := down.zulip(bot, "GET", "/api/v1/users", nil, &members); st != 200 || len(members.Members) != 2 {
		t.Fatalf("GET /users through herald: %d %s", st, b)
	}
	if st, b := down.zulip(bot, "GET", "/api/v1/messages", url.Values{"anchor": {"newest"}}, nil); st != 405 || !strings.Contains(string(b), `"allowed_methods"`) {
		t.Fatalf("GET /messages: %d %s (the upstream herald's own 405)", st, b)
	}
	// Another user of the downstream is herald's own, not proxied.
	local := down.zulipUser("carol@example.com", "Carol")
	if st, b := down.zulip(local, "GET", "/api/v1/users", nil, &members); st != 200 || len(members.Members) != 1 ||
		members.Members[0].Email != "carol@example.com" {
		t.Fatalf("a local user's GET /users: %d %s", st, b)
	}
}

// The upstream loses the queue: the connector registers another, the gap
// is stored as an event, and what follows arrives.
func TestZulipConnectorGap(t *testing.T) {
	up, down, upBot, alice, bot := zulipPair(t)
	q := down.zulipRegister(bot)
	up.zulipSend(alice, "before")
	q.take(1)
	var pos struct {
		QueueID string `json:"queue_id"`
	}
	json.Unmarshal([]byte(down.connector("chat").Position), &pos)
	if st, b := up.zulip(upBot, "DELETE", "/api/v1/events", url.Values{"queue_id": {pos.QueueID}}, nil); st != 200 {
		t.Fatalf("delete the upstream queue %q: %d %s", pos.QueueID, st, b)
	}
	eventually(t, 30*time.Second, func() string {
		var now struct {
			QueueID string `json:"queue_id"`
		}
		v := down.connector("chat")
		json.Unmarshal([]byte(v.Position), &now)
		if now.QueueID == pos.QueueID || !v.State.Connected {
			return fmt.Sprintf("not registered again: %+v", v)
		}
		if !strings.Contains(v.State.LastError, "BAD_EVENT_QUEUE_ID") {
			return "last error: " + v.State.LastError
		}
		return ""
	})
	up.zulipSend(alice, "after")
	got := q.take(2)
	if !slices.Equal(contents(got), []string{"gap", "after"}) {
		t.Fatalf("downstream got %v", contents(got))
	}
	g := got[0]
	if g.LostQueueID != pos.QueueID || g.Since <= 0 || g.Until < g.Since {
		t.Fatalf("gap %s", g.Raw)
	}
}

// The upstream restarts (its queues are durable: no gap), the downstream
// restarts and resumes from its stored position: every message arrives
// once, in order, in the identity's herald queue, which survives too.
func TestZulipConnectorSurvivesRestarts(t *testing.T) {
	up, down, _, alice, bot := zulipPair(t)
	q := down.zulipRegister(bot)
	up.zulipSend(alice, "1")
	waitIngested(t, down, "chat", 1)
	up.Stop()
	waitDisconnected(t, down, "chat")
	up.Start()
	waitConnected(t, down, "chat", 1)
	up.zulipSend(alice, "2")
	waitIngested(t, down, "chat", 2)
	down.Stop()
	up.zulipSend(alice, "3") // held by the upstream queue meanwhile
	down.Start()
	waitConnected(t, down, "chat", 0)
	up.zulipSend(alice, "4")
	if got := contents(q.take(4)); !slices.Equal(got, []string{"1", "2", "3", "4"}) {
		t.Fatalf("downstream got %v", got)
	}
}
