package server_test

import (
	"net/http"
	"testing"
)

// route is one row of the tables that cover every mounted pattern: a
// request that the pattern serves and that succeeds with ok for a column
// its guard admits.
type route struct {
	pattern      string // the mux pattern that must serve the request
	method, path string
	body         string
	hdr          http.Header
	dialect      string         // whose shape its answers have
	guard        func(cred) int // nil: public
	ok           int            // the status of an admitted column
	except       map[string]int // columns that are admitted but refused by the route itself
	// slow marks a route whose answers take seconds (a profile), whose
	// malformed requests are only the wrong methods.
	slow bool
}

var (
	jsonBody   = http.Header{"Content-Type": {"application/json"}}
	formBody   = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	acceptSSE  = http.Header{"Accept": {"text/event-stream"}}
	noScope403 = map[string]int{"plain": 403}
	noSub404   = map[string]int{"plain": 404}
	notOwn404  = map[string]int{"plain": 404, "scoped": 404} // the admin's webhook
)

// routes covers every pattern herald mounts, in an order in which each
// row's resources exist (a subscription is made before it is read and
// deleted).
var routes = []route{
	// Operations and the console.
	{pattern: "GET /healthz", method: "GET", path: "/healthz", dialect: "native", ok: 200},
	{pattern: "GET /readyz", method: "GET", path: "/readyz", dialect: "native", ok: 200},
	{pattern: "GET /v1/cluster", method: "GET", path: "/v1/cluster", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "GET /v1/backup", method: "GET", path: "/v1/backup", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "GET /v1/stats/history", method: "GET", path: "/v1/stats/history", dialect: "native", guard: cred.adminGuard, ok: 200},
	// Public like health and discovery: the API's description is documentation, not data.
	{pattern: "GET /v1/openapi.json", method: "GET", path: "/v1/openapi.json", dialect: "native", ok: 200},
	{pattern: "GET /metrics", method: "GET", path: "/metrics", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "GET /debug/pprof/", method: "GET", path: "/debug/pprof/", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "GET /debug/pprof/profile", method: "GET", path: "/debug/pprof/profile?seconds=1", dialect: "native", guard: cred.adminGuard, ok: 200, slow: true},
	{pattern: "GET /debug/pprof/trace", method: "GET", path: "/debug/pprof/trace?seconds=0.01", dialect: "native", guard: cred.adminGuard, ok: 200, slow: true},
	{pattern: "/healthz", method: "POST", path: "/healthz", dialect: "native", ok: 405},
	{pattern: "/readyz", method: "DELETE", path: "/readyz", dialect: "native", ok: 405},
	{pattern: "/v1/cluster", method: "POST", path: "/v1/cluster", dialect: "native", ok: 405},
	{pattern: "/v1/backup", method: "POST", path: "/v1/backup", dialect: "native", ok: 405},
	{pattern: "/v1/stats/history", method: "POST", path: "/v1/stats/history", dialect: "native", ok: 405},
	{pattern: "/v1/openapi.json", method: "PUT", path: "/v1/openapi.json", dialect: "native", ok: 405},
	{pattern: "/metrics", method: "PUT", path: "/metrics", dialect: "native", ok: 405},
	{pattern: "/debug/pprof/", method: "POST", path: "/debug/pprof/heap", dialect: "native", ok: 405},
	{pattern: "/console", method: "GET", path: "/console", dialect: "console", ok: 301},
	{pattern: "/console/", method: "GET", path: "/console/", dialect: "console", ok: 200},

	// Native.
	{pattern: "POST /v1/events", method: "POST", path: "/v1/events", body: `{"topic":"app.m.${cred}","type":"t"}`, hdr: jsonBody, dialect: "native", guard: cred.nativeGuard, ok: 201, except: noScope403},
	{pattern: "GET /v1/events", method: "GET", path: "/v1/events?topics=app.m.>&after=0", dialect: "native", guard: cred.nativeGuard, ok: 200, except: noScope403},
	{pattern: "GET /v1/stream", method: "GET", path: "/v1/stream?topics=app.m.>", dialect: "native", guard: cred.nativeGuard, ok: 200, except: noScope403},
	{pattern: "GET /v1/ws", method: "GET", path: "/v1/ws?topics=app.m.>", hdr: wsUpgrade, dialect: "native", guard: cred.nativeGuard, ok: 101, except: noScope403},
	{pattern: "GET /v1/subscriptions", method: "GET", path: "/v1/subscriptions", dialect: "native", guard: cred.nativeGuard, ok: 200},
	{pattern: "PUT /v1/subscriptions/{name}", method: "PUT", path: "/v1/subscriptions/m-${cred}", body: `{"topics":["app.m.>"]}`, hdr: jsonBody, dialect: "native", guard: cred.nativeGuard, ok: 201, except: noScope403},
	{pattern: "GET /v1/subscriptions/{name}", method: "GET", path: "/v1/subscriptions/m-${cred}", dialect: "native", guard: cred.nativeGuard, ok: 200, except: noSub404},
	{pattern: "GET /v1/subscriptions/{name}/events", method: "GET", path: "/v1/subscriptions/m-${cred}/events", dialect: "native", guard: cred.nativeGuard, ok: 200, except: noSub404},
	{pattern: "POST /v1/subscriptions/{name}/ack", method: "POST", path: "/v1/subscriptions/m-${cred}/ack", body: `{"upto":0}`, hdr: jsonBody, dialect: "native", guard: cred.nativeGuard, ok: 200, except: noSub404},
	{pattern: "DELETE /v1/subscriptions/{name}", method: "DELETE", path: "/v1/subscriptions/m-${cred}", dialect: "native", guard: cred.nativeGuard, ok: 204, except: noSub404},
	{pattern: "POST /v1/keys", method: "POST", path: "/v1/keys", body: `{"name":"m-${cred}"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},
	{pattern: "GET /v1/keys", method: "GET", path: "/v1/keys", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "DELETE /v1/keys/{id}", method: "DELETE", path: "/v1/keys/${doomed-key}", dialect: "native", guard: cred.adminGuard, ok: 204},
	{pattern: "/v1/events", method: "DELETE", path: "/v1/events", dialect: "native", ok: 405},
	{pattern: "/v1/stream", method: "POST", path: "/v1/stream", dialect: "native", ok: 405},
	{pattern: "/v1/ws", method: "POST", path: "/v1/ws", dialect: "native", ok: 405},
	{pattern: "/v1/subscriptions", method: "POST", path: "/v1/subscriptions", dialect: "native", ok: 405},
	{pattern: "/v1/subscriptions/{name}", method: "POST", path: "/v1/subscriptions/x", dialect: "native", ok: 405},
	{pattern: "/v1/subscriptions/{name}/events", method: "POST", path: "/v1/subscriptions/x/events", dialect: "native", ok: 405},
	{pattern: "/v1/subscriptions/{name}/ack", method: "GET", path: "/v1/subscriptions/x/ack", dialect: "native", ok: 405},
	{pattern: "/v1/keys", method: "PUT", path: "/v1/keys", dialect: "native", ok: 405},
	{pattern: "/v1/keys/{id}", method: "GET", path: "/v1/keys/x", dialect: "native", ok: 405},
	{pattern: "/v1/", method: "GET", path: "/v1/nothing", dialect: "native", ok: 404},

	// Fault rules: each made for a key nobody has, so that no other row meets it.
	{pattern: "POST /v1/faults", method: "POST", path: "/v1/faults", body: `{"action":"delay","delay":"1ms","key":"0000000000000000"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},
	{pattern: "GET /v1/faults", method: "GET", path: "/v1/faults", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "GET /v1/faults/{id}", method: "GET", path: "/v1/faults/${fault}", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "DELETE /v1/faults/{id}", method: "DELETE", path: "/v1/faults/${fault}", dialect: "native", guard: cred.adminGuard, ok: 204},
	{pattern: "DELETE /v1/faults", method: "DELETE", path: "/v1/faults", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "/v1/faults", method: "PUT", path: "/v1/faults", dialect: "native", ok: 405},
	{pattern: "/v1/faults/{id}", method: "POST", path: "/v1/faults/x", dialect: "native", ok: 405},
	// Webhooks: endpoints for a key that may read their topics (each its
	// own), hooks' definitions for an admin, a hook itself for its sender
	// (the signature is the credential: no herald key opens it).
	{pattern: "POST /v1/webhooks", method: "POST", path: "/v1/webhooks", body: `{"url":"https://example.org/hook","topics":["app.wh.>"]}`, hdr: jsonBody, dialect: "native", guard: cred.nativeGuard, ok: 201, except: noScope403},
	{pattern: "GET /v1/webhooks", method: "GET", path: "/v1/webhooks", dialect: "native", guard: cred.nativeGuard, ok: 200},
	{pattern: "GET /v1/webhooks/{id}", method: "GET", path: "/v1/webhooks/${webhook}", dialect: "native", guard: cred.nativeGuard, ok: 200, except: notOwn404},
	{pattern: "PATCH /v1/webhooks/{id}", method: "PATCH", path: "/v1/webhooks/${webhook}", body: `{"rate":1}`, hdr: jsonBody, dialect: "native", guard: cred.nativeGuard, ok: 200, except: notOwn404},
	{pattern: "GET /v1/webhooks/{id}/attempts", method: "GET", path: "/v1/webhooks/${webhook}/attempts", dialect: "native", guard: cred.nativeGuard, ok: 200, except: notOwn404},
	{pattern: "POST /v1/webhooks/{id}/replay", method: "POST", path: "/v1/webhooks/${webhook}/replay", body: `{"after":0}`, hdr: jsonBody, dialect: "native", guard: cred.nativeGuard, ok: 200, except: notOwn404},
	{pattern: "DELETE /v1/webhooks/{id}", method: "DELETE", path: "/v1/webhooks/${webhook-doomed}", dialect: "native", guard: cred.nativeGuard, ok: 204, except: notOwn404},
	{pattern: "POST /v1/hooks", method: "POST", path: "/v1/hooks", body: `{"name":"m-${cred}","topic":"app.hook","scheme":"bearer"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},
	{pattern: "GET /v1/hooks", method: "GET", path: "/v1/hooks", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "GET /v1/hooks/{name}", method: "GET", path: "/v1/hooks/matrix", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "DELETE /v1/hooks/{name}", method: "DELETE", path: "/v1/hooks/doomed", dialect: "native", guard: cred.adminGuard, ok: 204},
	{pattern: "POST /v1/hooks/{name}", method: "POST", path: "/v1/hooks/matrix", body: `{}`, hdr: jsonBody, dialect: "native", ok: 401},
	{pattern: "/v1/webhooks", method: "PUT", path: "/v1/webhooks", dialect: "native", ok: 405},
	{pattern: "/v1/webhooks/{id}", method: "POST", path: "/v1/webhooks/x", dialect: "native", ok: 405},
	{pattern: "/v1/webhooks/{id}/attempts", method: "POST", path: "/v1/webhooks/x/attempts", dialect: "native", ok: 405},
	{pattern: "/v1/webhooks/{id}/replay", method: "GET", path: "/v1/webhooks/x/replay", dialect: "native", ok: 405},
	{pattern: "/v1/hooks", method: "PUT", path: "/v1/hooks", dialect: "native", ok: 405},
	{pattern: "/v1/hooks/{name}", method: "PUT", path: "/v1/hooks/x", dialect: "native", ok: 405},

	// Hue: pairing and discovery are open; CLIP v2 takes an application key.
	{pattern: "POST /api", method: "POST", path: "/api", body: `{"devicetype":"m#${cred}"}`, hdr: jsonBody, dialect: "hue", ok: 200},
	{pattern: "/api", method: "GET", path: "/api", dialect: "hue", ok: 200},
	{pattern: "GET /api/config", method: "GET", path: "/api/config", dialect: "hue", ok: 200},
	{pattern: "GET /api/{key}/config", method: "GET", path: "/api/whoever/config", dialect: "hue", ok: 200},
	{pattern: "GET /clip/v2/resource", method: "GET", path: "/clip/v2/resource", dialect: "hue", guard: cred.hueGuard, ok: 200},
	{pattern: "GET /clip/v2/resource/{type}", method: "GET", path: "/clip/v2/resource/light", dialect: "hue", guard: cred.hueGuard, ok: 200},
	{pattern: "POST /clip/v2/resource/{type}", method: "POST", path: "/clip/v2/resource/room", body: `{"metadata":{"name":"M ${cred}","archetype":"office"},"children":[]}`, hdr: jsonBody, dialect: "hue", guard: cred.hueGuard, ok: 200},
	{pattern: "GET /clip/v2/resource/{type}/{id}", method: "GET", path: "/clip/v2/resource/light/${light}", dialect: "hue", guard: cred.hueGuard, ok: 200},
	{pattern: "PUT /clip/v2/resource/{type}/{id}", method: "PUT", path: "/clip/v2/resource/light/${light}", body: `{"on":{"on":true}}`, hdr: jsonBody, dialect: "hue", guard: cred.hueGuard, ok: 200},
	{pattern: "DELETE /clip/v2/resource/{type}/{id}", method: "DELETE", path: "/clip/v2/resource/room/${room-${cred}}", dialect: "hue", guard: cred.hueGuard, ok: 200},
	{pattern: "GET /eventstream/clip/v2", method: "GET", path: "/eventstream/clip/v2", hdr: acceptSSE, dialect: "hue", guard: cred.hueGuard, ok: 200},
	{pattern: "/clip/v2/resource", method: "POST", path: "/clip/v2/resource", dialect: "hue", guard: cred.hueGuard, ok: 405},
	{pattern: "/clip/v2/resource/{type}", method: "DELETE", path: "/clip/v2/resource/light", dialect: "hue", guard: cred.hueGuard, ok: 405},
	{pattern: "/clip/v2/resource/{type}/{id}", method: "POST", path: "/clip/v2/resource/light/${light}", dialect: "hue", guard: cred.hueGuard, ok: 405},
	{pattern: "/eventstream/clip/v2", method: "POST", path: "/eventstream/clip/v2", hdr: acceptSSE, dialect: "hue", guard: cred.hueGuard, ok: 405},
	{pattern: "/clip/v2/", method: "GET", path: "/clip/v2/nothing", dialect: "hue", guard: cred.hueGuard, ok: 404},
	{pattern: "GET /v1/hue/products", method: "GET", path: "/v1/hue/products", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "GET /v1/hue/resources", method: "GET", path: "/v1/hue/resources", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "POST /v1/hue/devices", method: "POST", path: "/v1/hue/devices", body: `{"product":"dimmer_switch","name":"M ${cred}"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},
	{pattern: "POST /v1/hue/press", method: "POST", path: "/v1/hue/press", body: `{"button":"Hall"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "POST /v1/hue/sensor", method: "POST", path: "/v1/hue/sensor", body: `{"device":"Porch","motion":true}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "POST /v1/hue/rotate", method: "POST", path: "/v1/hue/rotate", body: `{"device":"Dial","steps":5}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "POST /v1/hue/link", method: "POST", path: "/v1/hue/link", body: `{}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 200},

	// Zulip.
	{pattern: "GET /api/v1/server_settings", method: "GET", path: "/api/v1/server_settings", dialect: "zulip", ok: 200},
	{pattern: "POST /api/v1/server_settings", method: "POST", path: "/api/v1/server_settings", dialect: "zulip", ok: 200},
	{pattern: "POST /api/v1/fetch_api_key", method: "POST", path: "/api/v1/fetch_api_key", body: "username=${zulip-email}&password=${zulip-key}", hdr: formBody, dialect: "zulip", ok: 200},
	{pattern: "POST /api/v1/register", method: "POST", path: "/api/v1/register", body: `event_types=["message"]`, hdr: formBody, dialect: "zulip", guard: cred.zulipGuard, ok: 200},
	{pattern: "GET /api/v1/events", method: "GET", path: "/api/v1/events?queue_id=${queue}&last_event_id=-1&dont_block=true", dialect: "zulip", guard: cred.zulipGuard, ok: 200},
	{pattern: "DELETE /api/v1/events", method: "DELETE", path: "/api/v1/events?queue_id=${queue2}", dialect: "zulip", guard: cred.zulipGuard, ok: 200},
	{pattern: "POST /api/v1/messages", method: "POST", path: "/api/v1/messages", body: "type=stream&to=general&topic=t&content=hi", hdr: formBody, dialect: "zulip", guard: cred.zulipGuard, ok: 200},
	{pattern: "POST /api/v1/typing", method: "POST", path: "/api/v1/typing", body: "op=start&type=direct&to=[${zulip-id}]", hdr: formBody, dialect: "zulip", guard: cred.zulipGuard, ok: 200},
	{pattern: "POST /api/v1/users/me/presence", method: "POST", path: "/api/v1/users/me/presence", body: "status=active", hdr: formBody, dialect: "zulip", guard: cred.zulipGuard, ok: 200},
	{pattern: "GET /api/v1/users", method: "GET", path: "/api/v1/users", dialect: "zulip", guard: cred.zulipGuard, ok: 200},
	{pattern: "GET /api/v1/users/me", method: "GET", path: "/api/v1/users/me", dialect: "zulip", guard: cred.zulipGuard, ok: 200},
	{pattern: "GET /api/v1/streams", method: "GET", path: "/api/v1/streams", dialect: "zulip", guard: cred.zulipGuard, ok: 200},
	{pattern: "GET /api/v1/users/me/subscriptions", method: "GET", path: "/api/v1/users/me/subscriptions", dialect: "zulip", guard: cred.zulipGuard, ok: 200},
	{pattern: "/api/v1/server_settings", method: "DELETE", path: "/api/v1/server_settings", dialect: "zulip", ok: 405},
	{pattern: "/api/v1/fetch_api_key", method: "GET", path: "/api/v1/fetch_api_key", dialect: "zulip", ok: 405},
	{pattern: "/api/v1/register", method: "GET", path: "/api/v1/register", dialect: "zulip", ok: 405},
	{pattern: "/api/v1/events", method: "POST", path: "/api/v1/events", dialect: "zulip", ok: 405},
	{pattern: "/api/v1/messages", method: "GET", path: "/api/v1/messages", dialect: "zulip", ok: 405},
	{pattern: "/api/v1/typing", method: "GET", path: "/api/v1/typing", dialect: "zulip", ok: 405},
	{pattern: "/api/v1/users/me/presence", method: "GET", path: "/api/v1/users/me/presence", dialect: "zulip", ok: 405},
	{pattern: "/api/v1/users", method: "POST", path: "/api/v1/users", dialect: "zulip", ok: 405},
	{pattern: "/api/v1/users/me", method: "DELETE", path: "/api/v1/users/me", dialect: "zulip", ok: 405},
	{pattern: "/api/v1/streams", method: "POST", path: "/api/v1/streams", dialect: "zulip", ok: 405},
	{pattern: "/api/v1/users/me/subscriptions", method: "POST", path: "/api/v1/users/me/subscriptions", dialect: "zulip", ok: 405},
	{pattern: "POST /v1/zulip/users", method: "POST", path: "/v1/zulip/users", body: `{"email":"m-${cred}@example.com","full_name":"M"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},
	{pattern: "GET /v1/zulip/users", method: "GET", path: "/v1/zulip/users", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "DELETE /v1/zulip/users/{email}", method: "DELETE", path: "/v1/zulip/users/doomed@example.com", dialect: "native", guard: cred.adminGuard, ok: 204},
	{pattern: "POST /v1/zulip/streams", method: "POST", path: "/v1/zulip/streams", body: `{"name":"m-${cred}"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},
	{pattern: "GET /v1/zulip/streams", method: "GET", path: "/v1/zulip/streams", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "GET /v1/zulip/queues", method: "GET", path: "/v1/zulip/queues", dialect: "native", guard: cred.adminGuard, ok: 200},

	// Jetstream.
	{pattern: "GET /3/events", method: "GET", path: "/3/events", dialect: "jetstream", guard: cred.jetstreamGuard, ok: 200},
	{pattern: "GET /3/events/{limit}", method: "GET", path: "/3/events/10", dialect: "jetstream", guard: cred.jetstreamGuard, ok: 200},
	{pattern: "DELETE /3/events", method: "DELETE", path: "/3/events", body: `{"BatchId":"${batch}"}`, hdr: jsonBody, dialect: "jetstream", guard: cred.jetstreamGuard, ok: 204},
	{pattern: "PATCH /3/events", method: "PATCH", path: "/3/events", body: `{"EventIds":["00000000-0000-4000-8000-000000000001"]}`, hdr: jsonBody, dialect: "jetstream", guard: cred.jetstreamGuard, ok: 204},
	{pattern: "/3/events", method: "POST", path: "/3/events", dialect: "jetstream", ok: 405},
	{pattern: "/3/events/{limit}", method: "DELETE", path: "/3/events/10", dialect: "jetstream", ok: 405},
	{pattern: "/3/", method: "GET", path: "/3/nothing", dialect: "jetstream", ok: 404},
	{pattern: "POST /v1/jetstream/users", method: "POST", path: "/v1/jetstream/users", body: `{"name":"m-${cred}"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},
	{pattern: "GET /v1/jetstream/users", method: "GET", path: "/v1/jetstream/users", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "DELETE /v1/jetstream/users/{id}", method: "DELETE", path: "/v1/jetstream/users/${js-doomed}", dialect: "native", guard: cred.adminGuard, ok: 204},
	{pattern: "POST /v1/jetstream/simulate", method: "POST", path: "/v1/jetstream/simulate", body: `{"device":"m-1","heartbeat":true}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},

	// Connectors (an unreachable upstream: each retries quietly).
	{pattern: "POST /v1/connectors", method: "POST", path: "/v1/connectors", body: `{"name":"m-${cred}","kind":"jetstream","url":"http://127.0.0.1:9","key":"k"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},
	{pattern: "GET /v1/connectors", method: "GET", path: "/v1/connectors", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "GET /v1/connectors/{name}", method: "GET", path: "/v1/connectors/m-admin", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "DELETE /v1/connectors/{name}", method: "DELETE", path: "/v1/connectors/m-admin", dialect: "native", guard: cred.adminGuard, ok: 204},
	{pattern: "/v1/connectors", method: "PUT", path: "/v1/connectors", dialect: "native", ok: 405},
	{pattern: "/v1/connectors/{name}", method: "POST", path: "/v1/connectors/x", dialect: "native", ok: 405},

	// Plex.
	{pattern: "GET /{$}", method: "GET", path: "/", dialect: "plex", guard: cred.plexGuard, ok: 200},
	{pattern: "GET /identity", method: "GET", path: "/identity", dialect: "plex", ok: 200},
	{pattern: "GET /:/eventsource/notifications", method: "GET", path: "/:/eventsource/notifications", dialect: "plex", guard: cred.plexGuard, ok: 200},
	{pattern: "GET /:/websocket/notifications", method: "GET", path: "/:/websocket/notifications", hdr: wsUpgrade, dialect: "plex", guard: cred.plexGuard, ok: 101},
	{pattern: "GET /:/websockets/notifications", method: "GET", path: "/:/websockets/notifications", hdr: wsUpgrade, dialect: "plex", guard: cred.plexGuard, ok: 101},
	{pattern: "POST /v1/plex/tokens", method: "POST", path: "/v1/plex/tokens", body: `{"name":"m-${cred}"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},
	{pattern: "GET /v1/plex/tokens", method: "GET", path: "/v1/plex/tokens", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "DELETE /v1/plex/tokens/{id}", method: "DELETE", path: "/v1/plex/tokens/${plex-doomed}", dialect: "native", guard: cred.adminGuard, ok: 204},
	{pattern: "POST /v1/plex/simulate/scan", method: "POST", path: "/v1/plex/simulate/scan", body: `{"items":1}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "POST /v1/plex/simulate/play", method: "POST", path: "/v1/plex/simulate/play", body: `{"updates":1}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "POST /v1/plex/simulate/preference", method: "POST", path: "/v1/plex/simulate/preference", body: `{"id":"FriendlyName","value":"m"}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 200},

	// Routes (of a topic nothing is published to).
	{pattern: "POST /v1/routes", method: "POST", path: "/v1/routes", body: `{"name":"m-${cred}","topics":["app.none"],"action":{"kind":"native.publish","params":"{'topic': 'app.none.out'}"}}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 201},
	{pattern: "GET /v1/routes", method: "GET", path: "/v1/routes", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "GET /v1/routes/{name}", method: "GET", path: "/v1/routes/m-${cred}", dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "PUT /v1/routes/{name}", method: "PUT", path: "/v1/routes/m-${cred}", body: `{"topics":["app.none"],"action":{"kind":"native.publish","params":"{'topic': 'app.none.other'}"}}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "POST /v1/routes/{name}/test", method: "POST", path: "/v1/routes/m-${cred}/test", body: `{"seq":1}`, hdr: jsonBody, dialect: "native", guard: cred.adminGuard, ok: 200},
	{pattern: "DELETE /v1/routes/{name}", method: "DELETE", path: "/v1/routes/m-${cred}", dialect: "native", guard: cred.adminGuard, ok: 204},
	{pattern: "/v1/routes", method: "PUT", path: "/v1/routes", dialect: "native", ok: 405},
	{pattern: "/v1/routes/{name}", method: "POST", path: "/v1/routes/m", dialect: "native", ok: 405},
	{pattern: "/v1/routes/{name}/test", method: "GET", path: "/v1/routes/m/test", dialect: "native", ok: 405},
}

// Every route × every kind of credential: an admitted column gets the
// route's answer, any other the refusal its dialect gives (the status and
// the vendor's own body). The rows cover exactly the mounted patterns, and
// each row's requests are served by its pattern.
func TestRouteCredentialMatrix(t *testing.T) {
	e := newMatrixEnv(t)
	mounted := mountedPatterns(t)
	before := requestsByRoute(t, e.s.URL(), e.s.Admin)
	sent := map[string]int{}
	for _, r := range routes {
		for _, c := range e.creds {
			want, refused := r.ok, 0
			if r.guard != nil {
				refused = r.guard(c)
			}
			if refused != 0 {
				want = refused
			} else if s, ok := r.except[c.name]; ok {
				want = s
			}
			st, h, body := e.send(c, r.method, e.expand(r.path, c), r.hdr, e.expand(r.body, c))
			sent[r.pattern]++
			if st != want {
				t.Errorf("%s %s as %s: %d, want %d: %.200s", r.method, r.path, c.name, st, want, body)
				continue
			}
			if refused == 401 || refused == 403 {
				if err := checkDenial(r.dialect, st, h, body); err != nil {
					t.Errorf("%s %s as %s: %v", r.method, r.path, c.name, err)
				}
			}
		}
	}
	checkCoverage(t, e.s.URL(), e.s.Admin, mounted, sent, before)
	t.Logf("%d routes × %d credentials", len(routes), len(e.creds))
}
