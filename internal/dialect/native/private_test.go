package native_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/server"
)

// A Zulip realm's messages (direct ones included) are private to readers
// scoped to them by name: a native key allowed to read ">" — even an
// admin key asking for everything — does not get them, from the window or
// from the log; a key scoped to "zulip.>" (or an admin naming it) does.
func TestZulipMessagesNeedAnExplicitScope(t *testing.T) {
	s := start(t, server.Config{})
	var u struct {
		APIKey string `json:"api_key"`
	}
	if r := s.do("POST", "/v1/zulip/users", s.admin, `{"email":"alice@example.com","full_name":"Alice"}`, &u); r.StatusCode != 201 {
		t.Fatalf("zulip user: %d", r.StatusCode)
	}
	s.do("POST", "/v1/zulip/users", s.admin, `{"email":"bob@example.com","full_name":"Bob"}`, nil)
	dm := url.Values{"type": {"direct"}, "to": {`["bob@example.com"]`}, "content": {"the secret"}}
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/messages", strings.NewReader(dm.Encode()))
	req.SetBasicAuth("alice@example.com", u.APIKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("direct message: %d", resp.StatusCode)
	}
	s.do("POST", "/v1/events", s.admin, `{"topic":"app.after","type":"x"}`, nil)

	everything := s.createKey(`{"name":"everything","subscribe":[">"]}`)
	zulip := s.createKey(`{"name":"zulip-reader","subscribe":["zulip.>"]}`)
	for _, tc := range []struct {
		name, key, query string
		status           int
		secret           bool
	}{
		{"'>' key, its default", everything, "", 200, false},
		{"'>' key, topics=>", everything, "topics=>", 200, false},
		{"'>' key, topics=*.>", everything, "topics=*.>", 200, false},
		{"'>' key, naming zulip", everything, "topics=zulip.>", 403, false},
		{"admin, everything", s.admin, "", 200, false},
		{"admin, naming zulip", s.admin, "topics=zulip.>", 200, true},
		{"zulip-scoped key", zulip, "", 200, true},
	} {
		var got pollResponse
		r := s.do("GET", "/v1/events?after=0&"+tc.query, tc.key, "", &got)
		if r.StatusCode != tc.status {
			t.Fatalf("%s: %d, want %d", tc.name, r.StatusCode, tc.status)
		}
		found := false
		for _, e := range got.Events {
			found = found || strings.Contains(string(e.Data), "the secret")
		}
		if found != tc.secret {
			t.Fatalf("%s: the direct message delivered: %v, want %v (%d events)", tc.name, found, tc.secret, len(got.Events))
		}
	}
}
