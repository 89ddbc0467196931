package zulip

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/auth"
)

// TestAuthErrors checks the exact status, body and headers of every
// authentication failure.
func TestAuthErrors(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	other := e.addUser("other@example.com", "Other")
	for _, tc := range []struct {
		name, header string
		status       int
		body         string
		challenge    bool
	}{
		{"missing", "", 401, `{"code":"UNAUTHORIZED","msg":"Missing authorization header for basic auth","result":"error"}`, true},
		{"bearer", "Bearer " + bot.Key, 400, `{"code":"BAD_REQUEST","msg":"This endpoint requires HTTP basic authentication.","result":"error"}`, false},
		{"undecodable", "Basic %%%", 401, `{"code":"UNAUTHORIZED","msg":"Invalid authorization header for basic auth","result":"error"}`, true},
		{"no colon", "Basic Ym90", 401, `{"code":"UNAUTHORIZED","msg":"Invalid authorization header for basic auth","result":"error"}`, true},
		{"malformed key", basic(bot.Email, "abc"), 401, `{"code":"INVALID_API_KEY","msg":"Malformed API key","result":"error"}`, true},
		{"wrong key", basic(bot.Email, otherLast(bot.Key)), 401, `{"code":"INVALID_API_KEY","msg":"Invalid API key","result":"error"}`, true},
		{"other user's key", basic(bot.Email, other.Key), 401, `{"code":"INVALID_API_KEY","msg":"Invalid API key","result":"error"}`, true},
		{"native key", basic(bot.Email, e.admin), 401, `{"code":"INVALID_API_KEY","msg":"Invalid API key","result":"error"}`, true},
		{"email case", basic("BOT@example.com", bot.Key), 200, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/register", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			r := e.send(req)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Raw)
			}
			if tc.body != "" && r.Raw != tc.body+"\n" {
				t.Fatalf("body %s, want %s", r.Raw, tc.body)
			}
			if got := r.Header.Get("WWW-Authenticate"); (got == `Basic realm="zulip"`) != tc.challenge {
				t.Fatalf("WWW-Authenticate %q", got)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, Config{})
	key := e.core.Key(t, auth.Spec{Name: "slow", Dialect: "zulip", Rate: 1, Meta: map[string]string{
		"email": "slow@example.com", "user_id": "99", "full_name": "Slow", "realm": "zulip"}})
	u := zuser{ID: 99, Email: "slow@example.com", Key: key}
	var r resp
	for range 10 { // burst 2: the limit is reached within a few requests
		if r = e.call(context.Background(), u, "GET", "/api/v1/users", nil, query); r.Status == 429 {
			break
		}
	}
	if r.Status != 429 || r.str("code") != "RATE_LIMIT_HIT" || r.str("msg") != "API usage exceeded rate limit" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if r.Header.Get("Retry-After") == "" || r.Body["retry-after"] == nil {
		t.Fatalf("no retry-after: %v %s", r.Header, r.Raw)
	}
}

// TestEventsErrors checks the /events error cases of Zulip's fetch_events
// and cleanup_event_queue, with their exact bodies.
func TestEventsErrors(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	other := e.addUser("other@example.com", "Other")
	qid := e.register(bot, nil)
	theirs := e.register(other, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		method string
		params url.Values
		enc    encoding
		status int
		body   string
	}{
		{"no queue_id", "GET", url.Values{"last_event_id": {"-1"}}, query, 400,
			`{"code":"BAD_REQUEST","msg":"Missing 'queue_id' argument","result":"error"}`},
		{"no last_event_id", "GET", url.Values{"queue_id": {qid}}, query, 400,
			`{"code":"BAD_REQUEST","msg":"Missing 'last_event_id' argument","result":"error"}`},
		{"unknown queue", "GET", url.Values{"queue_id": {"1375801870:2942"}, "last_event_id": {"-1"}}, query, 400,
			`{"code":"BAD_EVENT_QUEUE_ID","msg":"Bad event queue id: 1375801870:2942","queue_id":"1375801870:2942","result":"error"}`},
		{"dotted queue", "GET", url.Values{"queue_id": {"a.b"}, "last_event_id": {"-1"}}, query, 400,
			`{"code":"BAD_EVENT_QUEUE_ID","msg":"Bad event queue id: a.b","queue_id":"a.b","result":"error"}`},
		{"another user's queue", "GET", url.Values{"queue_id": {theirs}, "last_event_id": {"-1"}}, query, 400,
			`{"code":"BAD_EVENT_QUEUE_ID","msg":"Bad event queue id: ` + theirs + `","queue_id":"` + theirs + `","result":"error"}`},
		{"event never issued", "GET", url.Values{"queue_id": {qid}, "last_event_id": {"999999"}}, query, 400,
			`{"code":"BAD_REQUEST","msg":"Event 999999 was not in this queue","result":"error"}`},
		{"bad JSON", "GET", url.Values{"queue_id": {qid}, "last_event_id": {"-1"}, "dont_block": {"yes"}}, query, 400,
			`{"code":"BAD_REQUEST","msg":"Argument \"dont_block\" is not valid JSON.","result":"error"}`},
		{"wrong type", "GET", url.Values{"queue_id": {qid}, "last_event_id": {`"x"`}}, query, 400,
			`{"code":"BAD_REQUEST","msg":"last_event_id is not an integer","result":"error"}`},
		{"delete without queue_id", "DELETE", nil, query, 400,
			`{"code":"REQUEST_VARIABLE_MISSING","msg":"Missing 'queue_id' argument","result":"error","var_name":"queue_id"}`},
		{"delete another user's queue", "DELETE", url.Values{"queue_id": {theirs}}, form, 400,
			`{"code":"BAD_EVENT_QUEUE_ID","msg":"Bad event queue id: ` + theirs + `","queue_id":"` + theirs + `","result":"error"}`},
		{"bad event type", "POST", url.Values{"event_types": {`["a.>"]`}}, form, 400,
			`{"code":"BAD_REQUEST","msg":"Invalid event type: \"a.>\"","result":"error"}`},
		{"bad narrow", "POST", url.Values{"narrow": {`[["near","x"]]`}}, form, 400,
			`{"code":"BAD_REQUEST","msg":"Operator near not supported.","result":"error"}`},
		{"negative lifespan", "POST", url.Values{"queue_lifespan_secs": {"-1"}}, form, 400,
			`{"code":"BAD_REQUEST","msg":"queue_lifespan_secs is too small","result":"error"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/api/v1/events"
			if tc.method == "POST" {
				path = "/api/v1/register"
			}
			r := e.call(ctx, bot, tc.method, path, tc.params, tc.enc)
			if r.Status != tc.status || r.Raw != tc.body+"\n" {
				t.Fatalf("%d %s\nwant %d %s", r.Status, r.Raw, tc.status, tc.body)
			}
		})
	}
	// Nothing above changed the queues.
	for _, q := range []struct {
		u   zuser
		qid string
	}{{bot, qid}, {other, theirs}} {
		if r := e.poll(ctx, q.u, q.qid, -1, true); r.Status != 200 {
			t.Fatalf("queue damaged: %d %s", r.Status, r.Raw)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, Config{})
	req, _ := http.NewRequest("PUT", e.srv.URL+"/api/v1/events", nil)
	r := e.send(req)
	if r.Status != 405 || r.Raw != `{"allowed_methods":["GET","DELETE"],"msg":"Method Not Allowed","result":"error"}`+"\n" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	r := e.call(context.Background(), bot, "POST", "/api/v1/messages",
		url.Values{"content": {strings.Repeat("x", MaxBody)}}, form)
	if r.Status != http.StatusRequestEntityTooLarge || r.str("result") != "error" {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
}

// otherLast returns key with its last character changed (to one it is not).
func otherLast(key string) string {
	c := "x"
	if strings.HasSuffix(key, c) {
		c = "y"
	}
	return key[:len(key)-1] + c
}

// TestWriteEvents: a poll's answer written from the events' encodings is
// what encoding it would give, byte for byte.
func TestWriteEvents(t *testing.T) {
	for _, evs := range [][]json.RawMessage{
		{},
		{json.RawMessage(`{"id":4096,"type":"heartbeat"}`)},
		{json.RawMessage(`{"flags":[],"id":8192,"message":{"content":"\u003cp\u003ea \u0026 b\u003c/p\u003e"},"type":"message"}`),
			json.RawMessage(`{"id":12288,"op":"start","type":"typing"}`)},
	} {
		fast, slow := httptest.NewRecorder(), httptest.NewRecorder()
		writeEvents(fast, evs)
		writeSuccess(slow, map[string]any{"events": evs})
		if fast.Body.String() != slow.Body.String() || fast.Code != slow.Code ||
			fast.Header().Get("Content-Type") != slow.Header().Get("Content-Type") {
			t.Fatalf("written %d %q\nencoded %d %q", fast.Code, fast.Body, slow.Code, slow.Body)
		}
	}
}
