// Package native is herald's own API: publish events, read them by
// long-poll, Server-Sent Events or WebSocket with exact resume, durable pull
// subscriptions with acknowledgement, and key management.
package native

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
)

// Limits of the native API.
const (
	MaxBody        = 1 << 20 // bytes of a request body
	MaxPublish     = 1000    // events in one publish
	DefaultLimit   = 100
	MaxLimit       = 1000
	MaxWait        = 120 * time.Second
	KeepAlive      = 15 * time.Second // SSE comment / WebSocket ping interval
	RetryHint      = 2 * time.Second  // SSE reconnection delay hint
	subscriptionNS = "native."        // cursor ids of native subscriptions
)

// API serves the native endpoints.
type API struct {
	core      *dialect.Core
	jsonFmt   *hub.Format // the event's JSON, for long-poll answers
	sseFmt    *hub.Format // a complete SSE frame with id and event lines
	wsFmt     *hub.Format // a complete WebSocket text frame of the JSON
	keepAlive time.Duration
}

// New builds the native API over the core.
func New(core *dialect.Core) *API {
	a := &API{core: core, keepAlive: KeepAlive}
	a.jsonFmt = core.Hub.RegisterFormat("native.json", encodeEvent)
	a.sseFmt = core.Hub.RegisterFormat("native.sse", encodeSSE)
	a.wsFmt = core.Hub.RegisterFormat("native.ws", func(e *eventlog.Event) []byte {
		return framing.AppendWSText(nil, encodeEvent(e))
	})
	return a
}

// Mount registers the routes on mux.
func (a *API) Mount(mux *http.ServeMux) {
	route := func(pattern string, h func(http.ResponseWriter, *http.Request, *auth.Key)) {
		mux.Handle(pattern, a.authenticated(h))
	}
	route("POST /v1/events", a.publish)
	route("GET /v1/events", a.poll)
	route("GET /v1/stream", a.sse)
	route("GET /v1/ws", a.websocket)
	route("GET /v1/subscriptions", a.listSubscriptions)
	route("PUT /v1/subscriptions/{name}", a.putSubscription)
	route("GET /v1/subscriptions/{name}", a.getSubscription)
	route("DELETE /v1/subscriptions/{name}", a.deleteSubscription)
	route("GET /v1/subscriptions/{name}/events", a.fetch)
	route("POST /v1/subscriptions/{name}/ack", a.ack)
	route("POST /v1/keys", a.adminOnly(a.createKey))
	route("GET /v1/keys", a.adminOnly(a.listKeys))
	route("DELETE /v1/keys/{id}", a.adminOnly(a.revokeKey))

	// Same paths, other methods: a JSON 405 with Allow, not net/http's text.
	for path, allow := range map[string]string{
		"/v1/events":                      "GET, POST",
		"/v1/stream":                      "GET",
		"/v1/ws":                          "GET",
		"/v1/subscriptions":               "GET",
		"/v1/subscriptions/{name}":        "GET, PUT, DELETE",
		"/v1/subscriptions/{name}/events": "GET",
		"/v1/subscriptions/{name}/ack":    "POST",
		"/v1/keys":                        "GET, POST",
		"/v1/keys/{id}":                   "DELETE",
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; use "+allow)
		})
	}
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.URL.Path)
	})
}

// authenticated checks the credential (Authorization: Bearer, or
// ?access_token= for EventSource and WebSocket in browsers) and the key's
// rate limit before h runs.
func (a *API) authenticated(h func(http.ResponseWriter, *http.Request, *auth.Key)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := auth.BearerToken(r)
		if token == "" {
			token = auth.QueryToken(r, "access_token")
		}
		if token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "a key is required: Authorization: Bearer <key>")
			return
		}
		key, err := a.core.Auth.Authenticate(r.Context(), token)
		if err != nil {
			if errors.Is(err, auth.ErrUnauthorized) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="herald", error="invalid_token"`)
				writeError(w, http.StatusUnauthorized, "unauthorized", "the key is not valid")
				return
			}
			writeErr(w, err)
			return
		}
		if key.Dialect != "" {
			writeError(w, http.StatusForbidden, "forbidden", "this key is for the "+key.Dialect+" API")
			return
		}
		if ok, retry := a.core.Auth.Allow(key); !ok {
			w.Header().Set("Retry-After", itoa(int64(retry/time.Second)))
			writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests for this key")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		h(w, r, key)
	})
}

func (a *API) adminOnly(h func(http.ResponseWriter, *http.Request, *auth.Key)) func(http.ResponseWriter, *http.Request, *auth.Key) {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if !k.Admin {
			writeError(w, http.StatusForbidden, "forbidden", "an admin key is required")
			return
		}
		h(w, r, k)
	}
}

// waitContext bounds a long-poll by wait and by server shutdown.
func (a *API) waitContext(r *http.Request, wait time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := a.core.Deliver.StreamContext(r)
	if wait <= 0 {
		return ctx, cancel
	}
	tctx, tcancel := context.WithTimeout(ctx, wait)
	return tctx, func() { tcancel(); cancel() }
}
