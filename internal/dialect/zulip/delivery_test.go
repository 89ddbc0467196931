package zulip

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
)

func contents(r resp) []string {
	var out []string
	for _, ev := range r.events() {
		if m, ok := ev["message"].(map[string]any); ok {
			out = append(out, fmt.Sprint(m["content"]))
		} else {
			out = append(out, fmt.Sprint(ev["type"]))
		}
	}
	return out
}

// TestDirectMessageVisibility: a direct message reaches its participants
// only; the sender's copy is flagged read.
func TestDirectMessageVisibility(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.addUser("alice@example.com", "Alice")
	bob := e.addUser("bob@example.com", "Bob")
	carol := e.addUser("carol@example.com", "Carol")
	types := url.Values{"event_types": {`["message"]`}}
	qa, qb, qc := e.register(alice, types), e.register(bob, types), e.register(carol, types)

	r := e.call(context.Background(), alice, "POST", "/api/v1/messages", url.Values{
		"type": {"private"}, "to": {`["bob@example.com"]`}, "content": {"psst @**Bob**"}}, form)
	if r.Status != 200 {
		t.Fatalf("send: %d %s", r.Status, r.Raw)
	}
	// python-zulip-api's older comma-separated form, by a user id list too.
	if r := e.call(context.Background(), bob, "POST", "/api/v1/messages", url.Values{
		"type": {"direct"}, "to": {fmt.Sprintf("[%d]", alice.ID)}, "content": {"ok"}}, form); r.Status != 200 {
		t.Fatalf("send by id: %d %s", r.Status, r.Raw)
	}
	ra := e.poll(context.Background(), alice, qa, -1, true)
	rb := e.poll(context.Background(), bob, qb, -1, true)
	rc := e.poll(context.Background(), carol, qc, -1, true)
	if fmt.Sprint(contents(ra)) != "[psst @**Bob** ok]" || fmt.Sprint(contents(rb)) != "[psst @**Bob** ok]" || len(rc.events()) != 0 {
		t.Fatalf("alice %s\nbob %s\ncarol %s", ra.Raw, rb.Raw, rc.Raw)
	}
	if fmt.Sprint(ra.events()[0]["flags"]) != "[read]" || fmt.Sprint(rb.events()[0]["flags"]) != "[mentioned]" {
		t.Fatalf("flags: alice %v bob %v", ra.events()[0]["flags"], rb.events()[0]["flags"])
	}
	golden(t, "event_message_private.json", scrub(rb.events()[0], "id", "timestamp", "recipient_id"))

	// The ids of events Carol was never handed are not hers to
	// acknowledge: nothing is passed over on their say-so.
	last := int64(ra.events()[1]["id"].(float64))
	if r := e.poll(context.Background(), carol, qc, last, true); r.Status != 400 || r.str("code") != "BAD_REQUEST" {
		t.Fatalf("carol: %d %s", r.Status, r.Raw)
	}
}

// TestBlockedPollPassesOverInvisibleEvents: a direct message to others
// does not end a blocked poll; the next event the user sees does.
func TestBlockedPollPassesOverInvisibleEvents(t *testing.T) {
	e := newEnv(t, Config{})
	alice := e.addUser("alice@example.com", "Alice")
	e.addUser("bob@example.com", "Bob")
	carol := e.addUser("carol@example.com", "Carol")
	e.addStream("Denmark")
	qc := e.register(carol, url.Values{"event_types": {`["message"]`}})
	got := make(chan resp, 1)
	go func() { got <- e.poll(context.Background(), carol, qc, -1, false) }()
	e.waitPolling(qc, got)
	for _, to := range []string{"bob@example.com", "bob@example.com"} {
		r := e.call(context.Background(), alice, "POST", "/api/v1/messages", url.Values{
			"type": {"private"}, "to": {to}, "content": {"not for carol"}}, form)
		if r.Status != 200 {
			t.Fatalf("send: %d %s", r.Status, r.Raw)
		}
	}
	e.sendStream(alice, "Denmark", "t", "for everyone")
	if r := <-got; fmt.Sprint(contents(r)) != "[for everyone]" {
		t.Fatalf("carol: %d %s", r.Status, r.Raw)
	}
}

func TestNarrow(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	iago := e.addUser("iago@example.com", "Iago")
	e.addStream("Denmark")
	e.addStream("Sweden")
	q := e.register(bot, url.Values{"event_types": {`["message"]`}, "narrow": {`[["stream","denmark"]]`}})
	qt := e.register(bot, url.Values{"narrow": {`[{"operator":"topic","operand":"b"},{"operator":"sender","operand":"iago@example.com","negated":true}]`}})
	e.sendStream(iago, "Sweden", "a", "s1")
	e.sendStream(iago, "Denmark", "a", "d1")
	e.sendStream(iago, "Denmark", "b", "d2")
	e.sendStream(bot, "Sweden", "b", "s2")
	if r := e.poll(context.Background(), bot, q, -1, true); fmt.Sprint(contents(r)) != "[d1 d2]" {
		t.Fatalf("stream narrow: %s", r.Raw)
	}
	if r := e.poll(context.Background(), bot, qt, -1, true); fmt.Sprint(contents(r)) != "[s2]" {
		t.Fatalf("topic narrow: %s", r.Raw)
	}
}

// TestNativePublishedEvent: an event published through the core to
// zulip.<realm>.<type> (by herald itself: a simulator, a connector) reaches
// the queues of that type as it is.
func TestNativePublishedEvent(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	q := e.register(bot, url.Values{"event_types": {`["reaction"]`}})
	all := e.register(bot, nil)
	acks, err := e.core.Append(context.Background(), "zulip", []eventlog.Draft{
		{Topic: "zulip.zulip.reaction", Type: "reaction", Data: json.RawMessage(`{"op":"add","message_id":42,"emoji_name":"smile","emoji_code":"1f604","reaction_type":"unicode_emoji","user_id":10}`)},
		{Topic: "zulip.other.reaction", Type: "reaction", Data: json.RawMessage(`{"op":"add"}`)},
		{Topic: "zulip.zulip.update_message_flags", Type: "update_message_flags", Data: json.RawMessage(`"not an object"`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := e.poll(context.Background(), bot, q, -1, true)
	if len(r.events()) != 1 || r.events()[0]["type"] != "reaction" || r.events()[0]["id"] != float64(eventID(acks[0].Seq)) {
		t.Fatalf("%s", r.Raw)
	}
	golden(t, "event_reaction.json", r.events()[0])
	if r := e.poll(context.Background(), bot, all, -1, true); len(r.events()) != 1 {
		t.Fatalf("all types: %s", r.Raw)
	}
}

func TestSendMessageErrors(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	e.addStream("Denmark")
	for _, tc := range []struct {
		name   string
		params url.Values
		body   string
	}{
		{"no type", url.Values{"to": {"Denmark"}, "content": {"x"}},
			`{"code":"REQUEST_VARIABLE_MISSING","msg":"Missing 'type' argument","result":"error","var_name":"type"}`},
		{"no stream", url.Values{"type": {"stream"}, "to": {"Narnia"}, "topic": {"t"}, "content": {"x"}},
			`{"code":"STREAM_DOES_NOT_EXIST","msg":"Channel 'Narnia' does not exist","result":"error","stream":"Narnia"}`},
		{"no topic", url.Values{"type": {"stream"}, "to": {"Denmark"}, "content": {"x"}},
			`{"code":"BAD_REQUEST","msg":"Missing topic","result":"error"}`},
		{"empty", url.Values{"type": {"stream"}, "to": {"Denmark"}, "topic": {"t"}, "content": {"  "}},
			`{"code":"BAD_REQUEST","msg":"Message must not be empty","result":"error"}`},
		{"unknown user", url.Values{"type": {"private"}, "to": {"nobody@example.com"}, "content": {"x"}},
			`{"code":"BAD_REQUEST","msg":"Invalid email 'nobody@example.com'","result":"error"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(context.Background(), bot, "POST", "/api/v1/messages", tc.params, form)
			if r.Status != 400 || r.Raw != tc.body+"\n" {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
	}
	// By stream id, and with the old one-element list.
	for _, to := range []string{"1", `["Denmark"]`} {
		r := e.call(context.Background(), bot, "POST", "/api/v1/messages", url.Values{
			"type": {"stream"}, "to": {to}, "subject": {"t"}, "content": {"x"}}, multipartBody)
		if r.Status != 200 {
			t.Fatalf("to %s: %d %s", to, r.Status, r.Raw)
		}
	}
}

func TestAdminUsers(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	if st := e.adminDo("POST", "/v1/zulip/users", `{"email":"BOT@example.com","full_name":"Again"}`, nil); st != http.StatusConflict {
		t.Fatalf("duplicate email: %d", st)
	}
	if st := e.adminDo("POST", "/v1/zulip/users", `{"email":"not an email","full_name":"X"}`, nil); st != http.StatusBadRequest {
		t.Fatalf("bad email: %d", st)
	}
	var list struct{ Users []UserView }
	if st := e.adminDo("GET", "/v1/zulip/users", "", &list); st != 200 || len(list.Users) != 1 || list.Users[0].APIKey != "" {
		t.Fatalf("list: %d %+v", st, list)
	}
	// A Zulip key is not an admin key.
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/zulip/users", nil)
	req.Header.Set("Authorization", "Bearer "+bot.Key)
	if r := e.send(req); r.Status != http.StatusForbidden {
		t.Fatalf("zulip key on admin endpoint: %d", r.Status)
	}
	me := e.call(context.Background(), bot, "GET", "/api/v1/users/me", nil, query)
	if me.Status != 200 || me.str("email") != bot.Email || me.Body["user_id"] != float64(bot.ID) {
		t.Fatalf("users/me: %s", me.Raw)
	}
	if st := e.adminDo("DELETE", "/v1/zulip/users/bot@example.com", "", nil); st != http.StatusNoContent {
		t.Fatalf("remove: %d", st)
	}
	if r := e.call(context.Background(), bot, "GET", "/api/v1/users/me", nil, query); r.Status != 401 || r.str("code") != "INVALID_API_KEY" {
		t.Fatalf("removed user still authenticates: %d %s", r.Status, r.Raw)
	}
	if st := e.adminDo("DELETE", "/v1/zulip/users/bot@example.com", "", nil); st != http.StatusNotFound {
		t.Fatalf("remove twice: %d", st)
	}
}

func TestFetchAPIKey(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	r := e.call(context.Background(), zuser{}, "POST", "/api/v1/fetch_api_key", url.Values{
		"username": {bot.Email}, "password": {bot.Key}}, multipartBody)
	if r.Status != 200 || r.str("api_key") != bot.Key || r.Body["user_id"] != float64(bot.ID) {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	r = e.call(context.Background(), zuser{}, "POST", "/api/v1/fetch_api_key", url.Values{
		"username": {bot.Email}, "password": {"hunter2"}}, form)
	if r.Status != 401 || r.str("code") != "AUTHENTICATION_FAILED" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}
