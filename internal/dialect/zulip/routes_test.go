package zulip

import (
	"net/http"
	"testing"
)

// TestRoutesDoNotCollide mounts the dialect next to the patterns the other
// dialects own (Go's ServeMux panics on a conflict) and checks that an
// unknown Zulip path is not swallowed.
func TestRoutesDoNotCollide(t *testing.T) {
	e := newEnv(t, Config{})
	mux := http.NewServeMux()
	e.api.Mount(mux)
	noop := func(http.ResponseWriter, *http.Request) {}
	for _, p := range []string{"/v1/", "POST /v1/events", "POST /api", "GET /api/config", "GET /api/{key}/config",
		"GET /3/events", "GET /3/events/{limit}", "DELETE /3/events"} {
		mux.HandleFunc(p, noop)
	}
	req, _ := http.NewRequest("GET", "/api/v1/no_such_endpoint", nil)
	if _, pattern := mux.Handler(req); pattern != "" {
		t.Fatalf("unknown path handled by %q", pattern)
	}
}
