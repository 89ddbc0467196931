package native_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/server"
)

// Topics under a vendor dialect's namespace are served as that vendor's
// own data (a Zulip message's sender and rendered content), so a native
// key — even one allowed to publish ">" — may not append there; an admin
// key may.
func TestDialectNamespacesAreReserved(t *testing.T) {
	s := start(t, server.Config{})
	wide := s.createKey(`{"name":"wide","publish":[">"],"subscribe":[">"]}`)
	for _, topic := range []string{"zulip.r.message", "hue.button.x", "jetstream.dev.tagevent", "plex.timeline"} {
		var e apiError
		body := `{"topic":"` + topic + `","type":"message","data":{"sender_id":1,"herald_rendered_content":"<img src=x onerror=alert(1)>"}}`
		if r := s.do("POST", "/v1/events", wide, body, &e); r.StatusCode != 403 || e.Error.Code != "forbidden" {
			t.Fatalf("%s by a native key: %d %+v", topic, r.StatusCode, e)
		}
		if r := s.do("POST", "/v1/events", s.admin, body, nil); r.StatusCode != 201 {
			t.Fatalf("%s by an admin key: %d", topic, r.StatusCode)
		}
	}
	// Lookalikes outside the namespaces are anyone's.
	for _, topic := range []string{"app.zulip", "zulipx.a", "huey"} {
		if r := s.do("POST", "/v1/events", wide, `{"topic":"`+topic+`"}`, nil); r.StatusCode != 201 {
			t.Fatalf("%s: %d", topic, r.StatusCode)
		}
	}
}

// Data that is not valid UTF-8 is refused: stored raw, one such event
// would make every page of answers that holds it unreadable to a strict
// JSON reader.
func TestInvalidUTF8IsRefused(t *testing.T) {
	s := start(t, server.Config{})
	var before pollResponse
	s.do("GET", "/v1/events?after=0", s.admin, "", &before)
	for _, body := range []string{
		"{\"topic\":\"app.x\",\"data\":\"caf\xe9\"}",
		"{\"topic\":\"app.x\",\"data\":{\"k\":[\"\xff\"]}}",
		"[{\"topic\":\"app.x\"},{\"topic\":\"app.x\",\"data\":\"\xc3\"}]",
	} {
		var e apiError
		if r := s.do("POST", "/v1/events", s.admin, body, &e); r.StatusCode != 400 || !strings.Contains(e.Error.Message, "UTF-8") {
			t.Fatalf("%q: %d %+v", body, r.StatusCode, e)
		}
	}
	var after pollResponse
	s.do("GET", "/v1/events?after=0", s.admin, "", &after)
	if len(after.Events) != len(before.Events) {
		t.Fatalf("refused events were stored: %d → %d", len(before.Events), len(after.Events))
	}
}

// A publish the log recognises as a retry (same id) is not counted as
// appended again.
func TestDuplicatePublishIsNotCounted(t *testing.T) {
	s := start(t, server.Config{})
	for range 3 {
		s.do("POST", "/v1/events", s.admin, `{"topic":"app.x","id":"once"}`, nil)
	}
	if m := s.metrics(); !strings.Contains(m, `herald_events_appended_total{dialect="native"} 1`+"\n") {
		t.Fatalf("appended counter after one event and two retries:\n%s", grepLines(m, "herald_events_appended_total"))
	}
}

// ?access_token= is for the GET streams only (EventSource and browser
// WebSockets cannot set a header); elsewhere a token in a URL would end up
// in access logs and histories, so it is refused, not ignored.
func TestAccessTokenOnlyOnStreams(t *testing.T) {
	s := start(t, server.Config{})
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v1/events?access_token=" + s.admin, 400},
		{"POST", "/v1/events?access_token=" + s.admin, 400},
		{"GET", "/v1/keys?access_token=" + s.admin, 400},
		{"GET", "/v1/subscriptions?access_token=" + s.admin, 400},
		{"GET", "/v1/stream?access_token=bad", 401},
	} {
		req, _ := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(`{"topic":"app.x"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
