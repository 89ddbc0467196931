package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"

	"github.com/herald-io/herald/internal/dialect"
)

// corsMaxAge is how long, in seconds, a browser may reuse a preflight's
// answer (browsers cap it: Chromium at two hours).
const corsMaxAge = 3600

// corsPrefix is where CORS applies: herald's own API, native and admin.
// The vendor dialects' paths keep their vendors' behaviour (their clients
// are apps, not pages of other sites), and /metrics, /healthz and the
// console are not called across origins.
const corsPrefix = "/v1/"

// withCORS lets pages of origins (exact origins, or "*" for any) call
// herald's own API from a browser: preflights are answered 204, and other
// requests get the Access-Control-* headers when their Origin is allowed
// and are served as they would be without CORS when it is not. No
// credentials are ever allowed: herald authenticates by an Authorization
// header or an access_token a page sends itself, never by cookies, so "*"
// lets a page use only a key or token it already holds. Without origins,
// next is returned unchanged.
func withCORS(origins []string, next http.Handler) (http.Handler, error) {
	if len(origins) == 0 {
		return next, nil
	}
	for _, o := range origins {
		if err := checkOrigin(o); err != nil {
			return nil, err
		}
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete},
		// What herald reads, and Idempotency-Key, which some HTTP clients
		// send on their own (herald ignores it: an event's id dedupes).
		AllowedHeaders: []string{"Authorization", "Content-Type", "Last-Event-ID", "Idempotency-Key"},
		ExposedHeaders: []string{"Retry-After", "Location", "Allow", "WWW-Authenticate", "X-Request-Id", dialect.FaultHeader},
		MaxAge:         corsMaxAge,
	})
	h := c.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, corsPrefix) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	}), nil
}

// checkOrigin accepts "*" or an origin as a browser sends it:
// scheme://host[:port], nothing more.
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil &&
		u.Path == "" && u.RawQuery == "" && !u.ForceQuery && u.Fragment == "" && !strings.Contains(o, "*") {
		return nil
	}
	return fmt.Errorf("CORS origin %q: give an origin as scheme://host[:port] (https://app.example.com, no path or wildcard), or * for any", o)
}
