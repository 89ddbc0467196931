package plex

import (
	"net/http"
	"strings"

	"github.com/herald-io/herald/internal/dialect"
)

// A fallback serves what a Plex client calls beyond notifications — the
// library, playback, the server's own identity — when herald stands in
// front of a real Plex Media Server (a plex connector's reverse proxy). It
// runs behind the Plex guard: the client presented a token of herald's.

type fallback struct{ h http.Handler }

// SetFallback sets the handler of every Plex request this dialect does not
// serve from the log: GET / and GET /identity (the real server's identity,
// not herald's), and any path no route serves (see Unmatched). nil removes
// it: herald answers as the simulated server it is without one.
func (a *API) SetFallback(h http.Handler) {
	if h == nil {
		a.fallback.Store(nil)
		return
	}
	a.fallback.Store(&fallback{h: h})
}

// fallbackFor returns the fallback, or nil.
func (a *API) fallbackFor() http.Handler {
	if f := a.fallback.Load(); f != nil {
		return f.h
	}
	return nil
}

// Unmatched returns mux with the requests none of its routes serves — which
// it would answer 404 or 405 — passed to the fallback, through the Plex
// guard, while one is set. herald's own API (/v1/) is never passed on.
// Without a fallback it costs one atomic load per request.
func (a *API) Unmatched(mux *http.ServeMux) http.Handler {
	g := a.guard()
	proxied := g.Handle(func(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
		if h := a.fallbackFor(); h != nil {
			h.ServeHTTP(w, r)
			return nil
		}
		return dialect.Errorf(dialect.NotFound, "not found")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.fallback.Load() != nil && !strings.HasPrefix(r.URL.Path, "/v1/") {
			if _, pattern := mux.Handler(r); pattern == "" {
				r.Pattern = "plex fallback" // the route in herald's request metrics
				proxied.ServeHTTP(w, r)
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}
