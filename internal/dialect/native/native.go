// Package native is herald's own API: publish events, read them by
// long-poll, Server-Sent Events or WebSocket with exact resume, durable pull
// subscriptions with acknowledgement, and key management.
package native

import (
	"context"
	"net/http"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/auth/apptoken"
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
	guard     *dialect.Guard // set by Mount
}

// New builds the native API over the core.
func New(core *dialect.Core) *API {
	a := &API{core: core, keepAlive: KeepAlive}
	a.jsonFmt = core.Hub.RegisterFormat("native.json", EncodeEvent)
	a.sseFmt = core.Hub.RegisterFormat("native.sse", encodeSSE)
	a.wsFmt = core.Hub.RegisterFormat("native.ws", func(e *eventlog.Event) []byte {
		return framing.AppendWSText(nil, EncodeEvent(e))
	})
	return a
}

// Mount registers the routes on mux.
func (a *API) Mount(mux *http.ServeMux) {
	g := a.core.Guard(dialect.GuardSpec{
		Credential:   credential,
		Authenticate: a.authenticate,
		MaxBody:      MaxBody,
	})
	a.guard = g
	route := func(pattern string, h dialect.Handler) { mux.Handle(pattern, g.Handle(h)) }
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
	route("POST /v1/keys", adminOnly(a.createKey))
	route("GET /v1/keys", adminOnly(a.listKeys))
	route("DELETE /v1/keys/{id}", adminOnly(a.revokeKey))
	g.MethodNotAllowed(mux, map[string]string{
		"/v1/events":                      "GET, POST",
		"/v1/stream":                      "GET",
		"/v1/ws":                          "GET",
		"/v1/subscriptions":               "GET",
		"/v1/subscriptions/{name}":        "GET, PUT, DELETE",
		"/v1/subscriptions/{name}/events": "GET",
		"/v1/subscriptions/{name}/ack":    "POST",
		"/v1/keys":                        "GET, POST",
		"/v1/keys/{id}":                   "DELETE",
	})
	g.NotFound(mux, "/v1/")
}

// credential is the native key: Authorization: Bearer, or ?access_token=
// on the GET streams (EventSource and browser WebSockets cannot set a
// header). Elsewhere a token in the URL would end up in access logs and
// browser history, so it is refused rather than ignored.
func credential(r *http.Request) (string, error) {
	if t := auth.BearerToken(r); t != "" {
		return t, nil
	}
	if !r.URL.Query().Has("access_token") {
		return "", dialect.Errorf(dialect.Unauthorized, "a key is required: Authorization: Bearer <key>")
	}
	if r.Method != http.MethodGet || (r.URL.Path != "/v1/stream" && r.URL.Path != "/v1/ws") {
		return "", dialect.Errorf(dialect.BadRequest, "access_token is accepted only on GET /v1/stream and /v1/ws; send Authorization: Bearer <key>")
	}
	return r.URL.Query().Get("access_token"), nil
}

// authenticate resolves a herald key or, when the core accepts them, an
// app-signed token: a key that exists only for the request, with the
// token's scopes, never admin (see apptoken). Every native route, the
// console's calls and the access_token streams pass here.
func (a *API) authenticate(ctx context.Context, secret string) (*auth.Key, error) {
	if a.core.AppTokens != nil && apptoken.Looks(secret) {
		return a.core.AppTokens.Verify(ctx, secret)
	}
	return a.core.Auth.Authenticate(ctx, secret)
}

func adminOnly(h dialect.Handler) dialect.Handler {
	return func(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
		if !req.Key.Admin {
			return dialect.Errorf(dialect.Forbidden, "an admin key is required")
		}
		return h(w, r, req)
	}
}
