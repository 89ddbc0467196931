package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// corsDo sends method path with the Origin origin (none if ""), the
// admin key and extra headers, and returns the answer with its body read.
func corsDo(t *testing.T, s *servertest.Server, method, path, origin string, h ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if method != http.MethodOptions {
		req.Header.Set("Authorization", "Bearer "+s.Admin)
	}
	for i := 0; i < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func vary(resp *http.Response, name string) bool {
	for _, v := range resp.Header.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return true
			}
		}
	}
	return false
}

func TestCORSAllowedOrigin(t *testing.T) {
	s := servertest.Start(t, server.Config{CORSOrigins: []string{"https://app.example", "http://localhost:3000"}})
	for _, origin := range []string{"https://app.example", "http://localhost:3000"} {
		resp, _ := corsDo(t, s, "GET", "/v1/subscriptions", origin)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != origin || !vary(resp, "Origin") {
			t.Fatalf("%s: %d, headers %v", origin, resp.StatusCode, resp.Header)
		}
		if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("%s: credentials allowed", origin)
		}
		exposed := strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers"))
		for _, h := range []string{"retry-after", "location", "www-authenticate"} {
			if !strings.Contains(exposed, h) {
				t.Fatalf("%s: %s not exposed: %q", origin, h, exposed)
			}
		}
	}
	// An admin route, and an error answer, get them too: the page can read why.
	if resp, _ := corsDo(t, s, "GET", "/v1/faults/nope", "https://app.example"); resp.StatusCode != 404 ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("admin 404: %d %v", resp.StatusCode, resp.Header)
	}
}

// A page of another origin is served exactly as without CORS, only
// without the headers that would let its browser read the answer.
func TestCORSRefusedOrigin(t *testing.T) {
	s := servertest.Start(t, server.Config{CORSOrigins: []string{"https://app.example"}})
	plain, want := corsDo(t, s, "GET", "/v1/subscriptions", "")
	for _, origin := range []string{"https://evil.example", "https://app.example:8443", "http://app.example", "null"} {
		resp, body := corsDo(t, s, "GET", "/v1/subscriptions", origin)
		if resp.StatusCode != plain.StatusCode || body != want {
			t.Fatalf("%s: %d %q; without an origin %d %q", origin, resp.StatusCode, body, plain.StatusCode, want)
		}
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Fatalf("%s: %s: %q", origin, k, resp.Header.Get(k))
			}
		}
		pre, _ := corsDo(t, s, "OPTIONS", "/v1/events", origin, "Access-Control-Request-Method", "POST")
		if pre.Header.Get("Access-Control-Allow-Origin") != "" || pre.Header.Get("Access-Control-Allow-Methods") != "" {
			t.Fatalf("%s: preflight allowed: %v", origin, pre.Header)
		}
	}
}

func TestCORSPreflight(t *testing.T) {
	s := servertest.Start(t, server.Config{CORSOrigins: []string{"https://app.example"}})
	for _, tc := range []struct{ method, path, headers string }{
		{"POST", "/v1/events", "authorization,content-type"},
		{"PUT", "/v1/subscriptions/inbox", "authorization,content-type"},
		{"DELETE", "/v1/keys/0123456789abcdef", "authorization"},
		{"GET", "/v1/stream", "authorization,last-event-id"},
		{"POST", "/v1/events", "idempotency-key"},
	} {
		resp, body := corsDo(t, s, "OPTIONS", tc.path, "https://app.example",
			"Access-Control-Request-Method", tc.method, "Access-Control-Request-Headers", tc.headers)
		h := resp.Header
		if resp.StatusCode != http.StatusNoContent || body != "" ||
			h.Get("Access-Control-Allow-Origin") != "https://app.example" ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), tc.method) ||
			!strings.EqualFold(h.Get("Access-Control-Allow-Headers"), tc.headers) ||
			h.Get("Access-Control-Max-Age") != "3600" || !vary(resp, "Origin") || h.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("%s %s: %d %q %v", tc.method, tc.path, resp.StatusCode, body, h)
		}
	}
	// A header herald does not take, or a method it has nowhere, is not allowed.
	for _, tc := range [][2]string{{"POST", "x-secret"}, {"PATCH", "authorization"}} {
		resp, _ := corsDo(t, s, "OPTIONS", "/v1/events", "https://app.example",
			"Access-Control-Request-Method", tc[0], "Access-Control-Request-Headers", tc[1])
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%v allowed: %v", tc, resp.Header)
		}
	}
}

// "*" lets any page call, and never with credentials.
func TestCORSWildcardWithoutCredentials(t *testing.T) {
	s := servertest.Start(t, server.Config{CORSOrigins: []string{"*"}})
	resp, _ := corsDo(t, s, "GET", "/v1/subscriptions", "https://anyone.example", "Cookie", "session=1")
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("actual: %v", resp.Header)
	}
	pre, _ := corsDo(t, s, "OPTIONS", "/v1/events", "https://anyone.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization")
	if pre.StatusCode != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "*" || pre.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
}

// The vendor dialects' paths and the operations endpoints keep their own
// behaviour; without --cors-origins nothing changes anywhere.
func TestCORSOnlyOnHeraldsAPI(t *testing.T) {
	s := servertest.Start(t, server.Config{CORSOrigins: []string{"https://app.example"}})
	for _, path := range []string{"/clip/v2/resource", "/api/v1/users/me", "/3/events", "/metrics", "/healthz"} {
		resp, _ := corsDo(t, s, "GET", path, "https://app.example")
		if resp.Header.Get("Access-Control-Allow-Origin") != "" || vary(resp, "Origin") {
			t.Fatalf("GET %s: %v", path, resp.Header)
		}
		pre, _ := corsDo(t, s, "OPTIONS", path, "https://app.example", "Access-Control-Request-Method", "GET")
		if pre.StatusCode == http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("OPTIONS %s: %d %v", path, pre.StatusCode, pre.Header)
		}
	}
	off := servertest.Start(t, server.Config{})
	resp, _ := corsDo(t, off, "GET", "/v1/subscriptions", "https://app.example")
	pre, _ := corsDo(t, off, "OPTIONS", "/v1/events", "https://app.example", "Access-Control-Request-Method", "POST")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || vary(resp, "Origin") ||
		pre.StatusCode == http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("without origins: %v / %d %v", resp.Header, pre.StatusCode, pre.Header)
	}
}

// An SSE stream writes its own head once it owns the connection: the CORS
// headers are in it.
func TestCORSOnAStream(t *testing.T) {
	s := servertest.Start(t, server.Config{CORSOrigins: []string{"https://app.example"}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/v1/stream?topics=app.>&access_token="+s.Admin, nil)
	req.Header.Set("Origin", "https://app.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
}

func TestCORSOriginsChecked(t *testing.T) {
	for _, o := range []string{"app.example", "https://app.example/", "https://*.example", "ftp://app.example", "https://u@app.example", "https://app.example?x"} {
		srv, err := server.Start(context.Background(), server.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", CORSOrigins: []string{o}})
		if err == nil {
			srv.Shutdown(context.Background())
			t.Fatalf("%q accepted", o)
		}
		if !strings.Contains(err.Error(), "scheme://host") {
			t.Fatalf("%q: %v", o, err)
		}
	}
}
