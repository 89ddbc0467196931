package plex

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// With a fallback, what no route serves — and the server's identity — goes
// to it, behind the Plex guard; herald's own API and the notification
// endpoints stay herald's. Without one, nothing changes.
func TestFallback(t *testing.T) {
	e := newEnv(t, Config{})
	mux := http.NewServeMux()
	e.api.Mount(mux)
	mux.HandleFunc("GET /v1/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "native", 404) })
	srv := httptest.NewServer(e.api.Unmatched(mux))
	defer srv.Close()
	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if token != "" {
			req.Header.Set("X-Plex-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, _ := get("/library/sections", e.token); st != 404 {
		t.Fatalf("no fallback: %d", st)
	}
	if _, body := get("/identity", ""); !strings.Contains(body, e.api.cfg.MachineIdentifier) {
		t.Fatalf("no fallback, identity: %s", body)
	}
	e.api.SetFallback(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream "+r.URL.Path)
	}))
	for _, tc := range []struct {
		path, token string
		status      int
		body        string
	}{
		{"/library/sections", e.token, 200, "upstream /library/sections"},
		{"/library/sections", "", 401, "401 Unauthorized"},
		{"/", e.token, 200, "upstream /"},
		{"/identity", "", 200, "upstream /identity"},
		{"/v1/anything", e.admin, 404, "native"},
	} {
		if st, body := get(tc.path, tc.token); st != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, st, body, tc.status, tc.body)
		}
	}
	e.api.SetFallback(nil)
	if st, _ := get("/library/sections", e.token); st != 404 {
		t.Fatalf("fallback removed: %d", st)
	}
}
