package native_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/herald-io/herald/internal/server"
)

func TestErrorStatuses(t *testing.T) {
	s := start(t, server.Config{RetentionBytes: 4 << 10})
	limited := s.createKey(`{"name":"limited","publish":["app.>"],"subscribe":["app.>"]}`)
	slow := s.createKey(`{"name":"slow","publish":["app.>"],"subscribe":["app.>"],"rate":1}`)
	// Fill past retention so that position 0 has expired.
	for i := 0; i < 10; i++ {
		s.do("POST", "/v1/events", s.admin, `[`+strings.Repeat(`{"topic":"app.fill","type":"x","data":"0123456789012345678901234567890123456789"},`, 9)+`{"topic":"app.fill","type":"x"}]`, nil)
	}
	// The hub's window follows the log's retention within a second.
	deadline := time.Now().Add(10 * time.Second)
	for s.do("GET", "/v1/events?after=0", s.admin, "", nil).StatusCode != 410 {
		if time.Now().After(deadline) {
			t.Fatal("position 0 never expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var before pollResponse
	s.do("GET", "/v1/events?topics=app.none", s.admin, "", &before)

	big := `{"topic":"app.x","type":"x","data":"` + strings.Repeat("a", 1<<20) + `"}`
	tests := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"bad json", "POST", "/v1/events", s.admin, `{"topic":`, 400, "bad_request"},
		{"unknown field", "POST", "/v1/events", s.admin, `{"topic":"app.x","typ":"x"}`, 400, "bad_request"},
		{"bad topic", "POST", "/v1/events", s.admin, `{"topic":"app..x","type":"x"}`, 400, "bad_request"},
		{"wildcard topic", "POST", "/v1/events", s.admin, `{"topic":"app.>","type":"x"}`, 400, "bad_request"},
		{"empty array", "POST", "/v1/events", s.admin, `[]`, 400, "bad_request"},
		{"too many", "POST", "/v1/events", s.admin, "[" + strings.TrimSuffix(strings.Repeat(`{"topic":"a.b"},`, 1001), ",") + "]", 400, "bad_request"},
		{"bad after", "GET", "/v1/events?after=x", s.admin, "", 400, "bad_request"},
		{"bad limit", "GET", "/v1/events?limit=0", s.admin, "", 400, "bad_request"},
		{"bad wait", "GET", "/v1/events?wait=1h", s.admin, "", 400, "bad_request"},
		{"bad filter", "GET", "/v1/events?topics=a.>.b", s.admin, "", 400, "bad_request"},
		{"unknown param", "GET", "/v1/events?topic=a", s.admin, "", 400, "bad_request"},
		{"bad start", "PUT", "/v1/subscriptions/s1", s.admin, `{"start":"yesterday"}`, 400, "bad_request"},
		{"bad sub name", "PUT", "/v1/subscriptions/a.b", s.admin, `{}`, 400, "bad_request"},
		{"ack both", "POST", "/v1/subscriptions/s1/ack", s.admin, `{"batch":"x","upto":1}`, 400, "bad_request"},
		{"bad key spec", "POST", "/v1/keys", s.admin, `{"name":"","publish":["a..b"]}`, 400, "bad_request"},
		{"no key", "GET", "/v1/events", "", "", 401, "unauthorized"},
		{"wrong key", "GET", "/v1/events", "hk_0123456789abcdef_00000000000000000000000000000000", "", 401, "unauthorized"},
		{"garbage key", "GET", "/v1/events", "nope", "", 401, "unauthorized"},
		{"publish out of scope", "POST", "/v1/events", limited, `{"topic":"hue.x","type":"x"}`, 403, "forbidden"},
		{"read out of scope", "GET", "/v1/events?topics=hue.>", limited, "", 403, "forbidden"},
		{"stream out of scope", "GET", "/v1/stream?topics=>", limited, "", 403, "forbidden"},
		{"keys need admin", "GET", "/v1/keys", limited, "", 403, "forbidden"},
		{"unknown endpoint", "GET", "/v1/nothing", s.admin, "", 404, "not_found"},
		{"unknown subscription", "GET", "/v1/subscriptions/none/events", s.admin, "", 404, "not_found"},
		{"unknown key", "DELETE", "/v1/keys/0123456789abcdef", s.admin, "", 404, "not_found"},
		{"method", "PATCH", "/v1/events", s.admin, "", 405, "method_not_allowed"},
		{"method on keys", "PUT", "/v1/keys/abc", s.admin, "", 405, "method_not_allowed"},
		{"expired position", "GET", "/v1/events?after=0", s.admin, "", 410, "position_expired"},
		{"expired start", "PUT", "/v1/subscriptions/s2", s.admin, `{"start":"1"}`, 410, "position_expired"},
		{"body too large", "POST", "/v1/events", s.admin, big, 413, "too_large"},
		{"rate limited", "GET", "/v1/events", slow, "", 429, "rate_limited"},
	}
	// Use up the slow key's burst first.
	for i := 0; i < 5; i++ {
		s.do("GET", "/v1/events", slow, "", nil)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e apiError
			r := s.do(tc.method, tc.path, tc.token, tc.body, &e)
			if r.StatusCode != tc.status || e.Error.Code != tc.code || e.Error.Message == "" {
				t.Fatalf("%s %s = %d %+v, want %d %s", tc.method, tc.path, r.StatusCode, e, tc.status, tc.code)
			}
			if r.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
			}
			switch tc.status {
			case 401:
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatal("401 without WWW-Authenticate")
				}
			case 405:
				if r.Header.Get("Allow") == "" {
					t.Fatal("405 without Allow")
				}
			case 410:
				if e.Error.Earliest <= 1 {
					t.Fatalf("410 without earliest: %+v", e)
				}
			case 429:
				if r.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			}
		})
	}
	// None of the bad requests changed anything.
	var after pollResponse
	s.do("GET", "/v1/events?topics=app.none", s.admin, "", &after)
	if after.Next != before.Next {
		t.Fatalf("log moved from %d to %d", before.Next, after.Next)
	}
	var list struct{ Subscriptions []subView }
	s.do("GET", "/v1/subscriptions", s.admin, "", &list)
	if len(list.Subscriptions) != 0 {
		t.Fatalf("bad requests created subscriptions: %+v", list)
	}
}

func TestRevokedKeyIsRejected(t *testing.T) {
	s := start(t, server.Config{})
	var k struct{ ID, Token string }
	s.do("POST", "/v1/keys", s.admin, `{"name":"temp","subscribe":[">"]}`, &k)
	if r := s.do("GET", "/v1/events", k.Token, "", nil); r.StatusCode != 200 {
		t.Fatalf("new key: %d", r.StatusCode)
	}
	if r := s.do("DELETE", "/v1/keys/"+k.ID, s.admin, "", nil); r.StatusCode != 204 {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if r := s.do("GET", "/v1/events", k.Token, "", nil); r.StatusCode != 401 {
		t.Fatalf("revoked key: %d", r.StatusCode)
	}
	var list struct{ Keys []map[string]any }
	s.do("GET", "/v1/keys", s.admin, "", &list)
	if len(list.Keys) != 1 {
		t.Fatalf("keys after revoke: %+v", list)
	}
	for _, key := range list.Keys {
		if _, ok := key["token"]; ok {
			t.Fatal("list shows a token")
		}
		if fmt.Sprint(key) == "" || key["sha256"] != nil {
			t.Fatal("list shows the hash")
		}
	}
}

// herald on an external NATS server (the --nats path): a lost engine
// answers 503 on writes, and herald recovers on its own when it returns.
func TestExternalEngineUnavailable(t *testing.T) {
	storeDir := t.TempDir()
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: storeDir, NoLog: true, NoSigs: true}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	port := ns.Addr().(interface{ String() string }).String()
	s := start(t, server.Config{NATS: []string{ns.ClientURL()}})
	if r := s.do("POST", "/v1/events", s.admin, `{"topic":"app.x","type":"x"}`, nil); r.StatusCode != 201 {
		t.Fatalf("publish: %d", r.StatusCode)
	}
	// A stream open across the outage stays open and carries on after it.
	frames, stopStream := openSSE(t, s, "/v1/stream?after=0", "")
	defer stopStream()
	if f := nextFrame(t, frames); f.id != "1" {
		t.Fatalf("first frame %+v", f)
	}
	ns.Shutdown()
	ns.WaitForShutdown()

	var e apiError
	r := s.do("POST", "/v1/events", s.admin, `{"topic":"app.x","type":"x"}`, &e)
	if r.StatusCode != 503 || e.Error.Code != "unavailable" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("publish without engine: %d %+v", r.StatusCode, e)
	}
	if r := s.do("GET", "/readyz", "", "", nil); r.StatusCode != 503 {
		t.Fatalf("readyz without engine: %d", r.StatusCode)
	}

	_, p, _ := strings.Cut(port, ":")
	opts2 := *opts
	fmt.Sscan(p, &opts2.Port)
	ns2, err := natsserver.NewServer(&opts2)
	if err != nil {
		t.Fatal(err)
	}
	ns2.Start()
	defer func() { ns2.Shutdown(); ns2.WaitForShutdown() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var pub publishResponse
		r := s.do("POST", "/v1/events", s.admin, `{"topic":"app.x","type":"x"}`, &pub)
		if r.StatusCode == 201 {
			if pub.Events[0].Seq != 2 {
				t.Fatalf("after recovery seq = %d, want 2", pub.Events[0].Seq)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %d", r.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if f := nextFrame(t, frames); f.id != "2" {
		t.Fatalf("the stream did not recover with the engine: %+v", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Shutdown(ctx)
}

// GET /v1/keys says when this node last authenticated each key: none for
// a key never used, a time for one that was.
func TestKeysLastUsed(t *testing.T) {
	s := start(t, server.Config{})
	token := s.createKey(`{"name":"reader","subscribe":["app.>"]}`)
	s.createKey(`{"name":"idle","subscribe":["app.>"]}`)
	before := time.Now().Add(-time.Second)
	if r := s.do("GET", "/v1/events", token, "", nil); r.StatusCode != 200 {
		t.Fatalf("GET /v1/events: %d", r.StatusCode)
	}
	var list struct {
		Keys []struct {
			ID       string
			Name     string
			LastUsed *time.Time `json:"last_used"`
		}
	}
	s.do("GET", "/v1/keys", s.admin, "", &list)
	seen := map[string]*time.Time{}
	for _, k := range list.Keys {
		seen[k.Name] = k.LastUsed
	}
	if u := seen["reader"]; u == nil || u.Before(before.Truncate(time.Second)) || u.After(time.Now()) {
		t.Errorf("reader's last_used %v, want a time since %v", u, before)
	}
	if u, ok := seen["idle"]; !ok || u != nil {
		t.Errorf("idle's last_used %v (listed %v), want none", u, ok)
	}
}
