package native_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-io/herald/internal/auth/apptoken"
	"github.com/herald-io/herald/internal/server"
)

const appSecret = "an application's secret, 32 bytes or more"

// appToken is what an application backend mints for its user sub.
func appToken(t *testing.T, sub string, exp time.Time, publish, subscribe []string) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "exp": exp.Unix(), "aud": "herald",
		"herald": map[string]any{"publish": publish, "subscribe": subscribe},
	}).SignedString([]byte(appSecret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func startWithAppTokens(t *testing.T, cfg server.Config) *testServer {
	t.Helper()
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte(appSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.AppTokens = apptoken.Config{HMACSecretFile: secret, Audience: "herald"}
	return start(t, cfg)
}

// An app-signed token works on the native routes as a key with the
// token's scopes, whose identity is its subject: never admin.
func TestAppTokenOnNativeRoutes(t *testing.T) {
	s := startWithAppTokens(t, server.Config{})
	hour := time.Now().Add(time.Hour)
	alice := appToken(t, "alice", hour, []string{"app.chat.>"}, []string{"app.>"})

	if r := s.do("POST", "/v1/events", alice, `{"topic":"app.chat.room1","type":"msg","data":"hi"}`, nil); r.StatusCode/100 != 2 {
		t.Fatalf("publish in scope: %d", r.StatusCode)
	}
	var e apiError
	if r := s.do("POST", "/v1/events", alice, `{"topic":"app.admin","type":"msg"}`, &e); r.StatusCode != 403 {
		t.Fatalf("publish out of scope: %d %+v", r.StatusCode, e)
	}
	var got struct{ Events []event }
	if r := s.do("GET", "/v1/events?topics=app.>&after=0", alice, "", &got); r.StatusCode != 200 || len(got.Events) != 1 || got.Events[0].Topic != "app.chat.room1" {
		t.Fatalf("read: %d %+v", r.StatusCode, got)
	}
	if r := s.do("GET", "/v1/events?topics=hue.>", alice, "", nil); r.StatusCode != 403 {
		t.Fatalf("read out of scope: %d", r.StatusCode)
	}
	if r := s.do("GET", "/v1/keys", alice, "", nil); r.StatusCode != 403 {
		t.Fatalf("an app token listed keys: %d", r.StatusCode)
	}

	// The stream by access_token, as EventSource sends it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/v1/stream?topics=app.>&after=0&access_token="+alice, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	if f := <-readSSE(resp.Body); !strings.Contains(f.data, "app.chat.room1") {
		t.Fatalf("stream's first event: %+v", f)
	}
}

// Subscriptions belong to the subject: another token of the same subject
// finds them, another subject does not.
func TestAppTokenSubscriptionsPerSubject(t *testing.T) {
	s := startWithAppTokens(t, server.Config{})
	hour := time.Now().Add(time.Hour)
	scopes := []string{"app.>"}
	alice1 := appToken(t, "alice", hour, nil, scopes)
	alice2 := appToken(t, "alice", hour.Add(time.Minute), nil, scopes)
	bob := appToken(t, "bob", hour, nil, scopes)
	if r := s.do("PUT", "/v1/subscriptions/inbox", alice1, `{"topics":["app.>"]}`, nil); r.StatusCode != 201 {
		t.Fatalf("create: %d", r.StatusCode)
	}
	if r := s.do("GET", "/v1/subscriptions/inbox", alice2, "", nil); r.StatusCode != 200 {
		t.Fatalf("the same subject's next token: %d", r.StatusCode)
	}
	if r := s.do("GET", "/v1/subscriptions/inbox", bob, "", nil); r.StatusCode != 404 {
		t.Fatalf("another subject: %d", r.StatusCode)
	}
	var list struct {
		Subscriptions []struct{ Owner string } `json:"subscriptions"`
	}
	s.do("GET", "/v1/subscriptions", s.admin, "", &list)
	if len(list.Subscriptions) != 1 || list.Subscriptions[0].Owner != apptoken.KeyID("alice") {
		t.Fatalf("owner: %+v", list)
	}
}

// The stream cap counts a subject's streams, whichever of its tokens
// opened them.
func TestAppTokenStreamsPerSubject(t *testing.T) {
	s := startWithAppTokens(t, server.Config{StreamsPerKey: 1})
	hour := time.Now().Add(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/v1/stream?topics=app.>", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if r := open(appToken(t, "alice", hour, nil, []string{"app.>"})); r.StatusCode != 200 {
		t.Fatalf("first: %d", r.StatusCode)
	}
	if r := open(appToken(t, "alice", hour.Add(time.Second), nil, []string{"app.>"})); r.StatusCode != 429 {
		t.Fatalf("the subject's second stream: %d", r.StatusCode)
	}
	if r := open(appToken(t, "bob", hour, nil, []string{"app.>"})); r.StatusCode != 200 {
		t.Fatalf("another subject: %d", r.StatusCode)
	}
}

// Refused tokens get 401 in the native shape, an expired one with its own
// code so a client knows to fetch a new one; a token is no credential
// for the admin or vendor endpoints.
func TestAppTokenRefused(t *testing.T) {
	s := startWithAppTokens(t, server.Config{})
	var e apiError
	expired := appToken(t, "alice", time.Now().Add(-time.Minute), nil, []string{"app.>"})
	r := s.do("GET", "/v1/events?topics=app.>", expired, "", &e)
	if r.StatusCode != 401 || e.Error.Code != "token_expired" || !strings.Contains(r.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("expired: %d %+v %q", r.StatusCode, e, r.Header.Get("WWW-Authenticate"))
	}
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix(), "aud": "herald"}).
		SignedString([]byte("not the application's secret, but as long"))
	e = apiError{}
	if r := s.do("GET", "/v1/events?topics=app.>", forged, "", &e); r.StatusCode != 401 || e.Error.Code != "unauthorized" || e.Error.Message != "the token is not valid" {
		t.Fatalf("forged: %d %+v", r.StatusCode, e)
	}
	admin := appToken(t, "root", time.Now().Add(time.Hour), []string{">"}, []string{">"})
	if r := s.do("GET", "/v1/faults", admin, "", nil); r.StatusCode != 401 {
		t.Fatalf("admin endpoint: %d", r.StatusCode)
	}
	req, _ := http.NewRequest("GET", s.URL+"/clip/v2/resource", nil)
	req.Header.Set("hue-application-key", admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("hue: %d", resp.StatusCode)
	}
	// Without app tokens configured, a JWT is just a malformed key.
	plain := start(t, server.Config{})
	e = apiError{}
	if r := plain.do("GET", "/v1/events?topics=app.>", admin, "", &e); r.StatusCode != 401 || e.Error.Message != "the key is not valid" {
		t.Fatalf("no app tokens: %d %+v", r.StatusCode, e)
	}
}
