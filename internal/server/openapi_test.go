package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/herald-io/herald/internal/openapi"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
	"github.com/herald-io/herald/internal/webhook"
)

// apiCall is one request of TestOpenAPI: what it sends, the status it must
// get, and the answer's fields kept for later calls (name → field, a dotted
// path such as events.0.seq).
type apiCall struct {
	method, path string
	body         string
	key          string // "admin" (default), "none", or a var holding a token
	basic        string // user:password for HTTP Basic instead of key (vars expanded)
	hdr          http.Header
	status       int
	keep         map[string]string
	// vendor marks a vendor's own path, outside the document: sent to make
	// state an operation answers (a Zulip event queue), only its status checked.
	vendor bool
	// until is a field (a dotted path) the answer must have: the request is
	// sent again until it has (what a background job does, such as a
	// webhook's delivery), then validated.
	until string
}

// openAPICalls exercise every operation of the document, in an order in
// which each call's resources exist; ${name} is a kept field.
var openAPICalls = []apiCall{
	{method: "GET", path: "/healthz", key: "none", status: 200},
	{method: "GET", path: "/readyz", key: "none", status: 200},
	{method: "GET", path: "/v1/openapi.json", key: "none", status: 200},
	{method: "GET", path: "/v1/cluster", status: 200},
	{method: "GET", path: "/v1/backup", status: 200},

	{method: "POST", path: "/v1/events", body: `{"topic":"app.door.front","type":"opened","data":{"by":"alice"},"id":"door-1"}`, status: 201, keep: map[string]string{"opened": "events.0.seq"}},
	{method: "POST", path: "/v1/events", body: `[{"topic":"app.door.back"},{"topic":"app.door.front","id":"door-1"}]`, status: 201},
	{method: "POST", path: "/v1/events", body: `{"topic":"a b"}`, status: 400},
	{method: "POST", path: "/v1/events", body: `{"topic":"app.x"}`, key: "none", status: 401},
	{method: "GET", path: "/v1/events?topics=app.>&after=earliest&limit=10", status: 200},
	{method: "GET", path: "/v1/events?after=1&wait=1s", status: 200},
	{method: "GET", path: "/v1/events?limit=0", status: 400},
	{method: "GET", path: "/v1/stream?topics=app.>&after=earliest", status: 200},
	{method: "GET", path: "/v1/stream?topics=app.>&access_token=${admin}", key: "none", status: 200},
	{method: "GET", path: "/v1/ws?topics=app.>", hdr: wsUpgrade, status: 101},

	{method: "PUT", path: "/v1/subscriptions/billing", body: `{"topics":["app.>"],"start":"earliest"}`, status: 201},
	{method: "PUT", path: "/v1/subscriptions/billing", body: `{"topics":["app.door.>"]}`, status: 200},
	{method: "GET", path: "/v1/subscriptions", status: 200},
	{method: "GET", path: "/v1/subscriptions/billing", status: 200},
	{method: "GET", path: "/v1/subscriptions/billing/events?limit=100", status: 200, keep: map[string]string{"batch": "batch"}},
	{method: "POST", path: "/v1/subscriptions/billing/ack", body: `{"batch":"${batch}"}`, status: 200},
	{method: "GET", path: "/v1/subscriptions/billing/events?wait=0&ack=${batch}", status: 200},
	{method: "GET", path: "/v1/subscriptions/billing/events?ack=never", status: 409},
	{method: "GET", path: "/v1/subscriptions/billing/events?wait=0", status: 200},
	{method: "POST", path: "/v1/subscriptions/billing/ack", body: `{"upto":2}`, status: 200},
	{method: "POST", path: "/v1/subscriptions/billing/ack", body: `{"upto":2,"batch":"x"}`, status: 400},
	{method: "DELETE", path: "/v1/subscriptions/billing", status: 204},
	{method: "GET", path: "/v1/subscriptions/billing", status: 404},

	{method: "POST", path: "/v1/keys", body: `{"name":"door-sensor","publish":["app.door.>"],"subscribe":[]}`, status: 201, keep: map[string]string{"key": "id", "token": "token"}},
	{method: "GET", path: "/v1/keys", key: "token", status: 403}, // the key is used: it has a last_used
	{method: "GET", path: "/v1/keys", status: 200},
	{method: "DELETE", path: "/v1/keys/${key}", status: 204},

	{method: "POST", path: "/v1/faults", body: `{"action":"delay","delay":"1ms","key":"0000000000000000","ttl":"1m"}`, status: 201, keep: map[string]string{"fault": "id"}},
	{method: "POST", path: "/v1/faults", body: `{"action":"cut_stream","dialect":"native","after_events":3,"key":"0000000000000000"}`, status: 201},
	{method: "POST", path: "/v1/faults", body: `{"action":"cut_stream"}`, status: 400},
	{method: "GET", path: "/v1/faults", status: 200},
	{method: "GET", path: "/v1/faults/${fault}", status: 200},
	{method: "DELETE", path: "/v1/faults/${fault}", status: 204},
	{method: "GET", path: "/v1/faults/${fault}", status: 404},
	{method: "DELETE", path: "/v1/faults", status: 200},

	{method: "GET", path: "/v1/hue/products", status: 200},
	{method: "GET", path: "/v1/hue/resources", status: 200},
	{method: "POST", path: "/v1/hue/devices", body: `{"product":"dimmer_switch","name":"Hall"}`, status: 201},
	{method: "POST", path: "/v1/hue/devices", body: `{"product":"tap_dial","name":"Dial"}`, status: 201},
	{method: "POST", path: "/v1/hue/devices", body: `{"product":"motion_sensor","name":"Porch"}`, status: 201},
	{method: "POST", path: "/v1/hue/devices", body: `{"product":"toaster"}`, status: 400},
	{method: "POST", path: "/v1/hue/press", body: `{"button":"Hall","action":"long","repeats":2}`, status: 200},
	{method: "POST", path: "/v1/hue/sensor", body: `{"device":"Porch","motion":true,"temperature":21.5}`, status: 200},
	{method: "POST", path: "/v1/hue/rotate", body: `{"device":"Dial","steps":30,"repeats":1}`, status: 200},
	{method: "POST", path: "/v1/hue/rotate", body: `{"device":"Nowhere","steps":1}`, status: 404},
	{method: "POST", path: "/v1/hue/link", body: `{}`, status: 200},
	{method: "GET", path: "/v1/hue/resources", status: 200},

	{method: "POST", path: "/v1/zulip/users", body: `{"email":"bot@example.com","full_name":"Bot","bot":true}`, status: 201, keep: map[string]string{"zulip": "api_key"}},
	{method: "POST", path: "/v1/zulip/users", body: `{"email":"doomed@example.com","full_name":"Doomed"}`, status: 201},
	{method: "GET", path: "/v1/zulip/users", status: 200},
	{method: "DELETE", path: "/v1/zulip/users/doomed@example.com", status: 204},
	{method: "POST", path: "/v1/zulip/streams", body: `{"name":"general","description":"All"}`, status: 201},
	{method: "GET", path: "/v1/zulip/streams", status: 200},
	{method: "GET", path: "/v1/zulip/queues", status: 200},
	{method: "POST", path: "/api/v1/register", body: `event_types=["message"]`, basic: "bot@example.com:${zulip}", hdr: formBody, status: 200, vendor: true},
	{method: "POST", path: "/api/v1/register", basic: "bot@example.com:${zulip}", status: 200, vendor: true},
	{method: "GET", path: "/v1/zulip/queues", status: 200},

	{method: "GET", path: "/v1/jetstream/users", status: 200}, // none yet
	{method: "POST", path: "/v1/jetstream/users", body: `{"name":"dock","devices":["reader-1"]}`, status: 201, keep: map[string]string{"jsuser": "id"}},
	{method: "GET", path: "/v1/jetstream/users", status: 200},
	{method: "POST", path: "/v1/jetstream/simulate", body: `{"device":"reader-1","heartbeat":true,"sensors":["temperature"],"objects":2,"aggregate":true}`, status: 201},
	{method: "DELETE", path: "/v1/jetstream/users/${jsuser}", status: 204},

	{method: "POST", path: "/v1/plex/tokens", body: `{"name":"tautulli"}`, status: 201, keep: map[string]string{"plex": "id"}},
	{method: "GET", path: "/v1/plex/tokens", status: 200},
	{method: "DELETE", path: "/v1/plex/tokens/${plex}", status: 204},
	{method: "POST", path: "/v1/plex/simulate/scan", body: `{"section":"Movies","items":3}`, status: 200},
	{method: "POST", path: "/v1/plex/simulate/play", body: `{"title":"Arrival","updates":2,"pause":true}`, status: 200},
	{method: "POST", path: "/v1/plex/simulate/preference", body: `{"id":"FriendlyName","value":"den"}`, status: 200},

	{method: "GET", path: "/v1/routes", status: 200}, // none yet
	{method: "POST", path: "/v1/routes", body: `{"name":"echo","topics":["app.door.>"],"when":"event.type == 'opened'","action":{"kind":"native.publish","params":"{'topic': 'app.echo', 'data': data}"}}`, status: 201},
	{method: "POST", path: "/v1/routes", body: `{"name":"echo","topics":["app.door.>"],"action":{"kind":"native.publish","params":"{'topic': 'app.echo'}"}}`, status: 409},
	{method: "POST", path: "/v1/routes", body: `{"name":"bad","topics":["app.>"],"action":{"kind":"zulip.message","params":"{'to': 'general'}"}}`, status: 400},
	{method: "GET", path: "/v1/routes", status: 200},
	{method: "GET", path: "/v1/routes/echo", status: 200},
	{method: "PUT", path: "/v1/routes/echo", body: `{"topics":["app.door.>"],"action":{"kind":"native.publish","params":"{'topic': 'app.echo', 'type': event.type, 'data': data}"}}`, status: 200},
	{method: "PUT", path: "/v1/routes/echo", body: `{"name":"other","topics":["app.>"],"action":{"kind":"native.publish","params":"{}"}}`, status: 400},
	{method: "PUT", path: "/v1/routes/nowhere", body: `{"topics":["app.>"],"action":{"kind":"native.publish","params":"{'topic': 'app.x'}"}}`, status: 404},
	{method: "POST", path: "/v1/routes/echo/test", body: `{"seq":${opened}}`, status: 200},
	{method: "POST", path: "/v1/routes/echo/test", body: `{"seq":${opened},"route":{"name":"draft","topics":["app.>"],"when":"data.by == 'bob'","action":{"kind":"native.publish","params":"{'topic': 'app.x'}"}}}`, status: 200},
	{method: "POST", path: "/v1/routes/echo/test", body: `{"seq":${opened},"route":{"name":"draft","topics":["hue.>"],"action":{"kind":"native.publish","params":"{'topic': 'app.x'}"}}}`, status: 200},
	{method: "POST", path: "/v1/routes/echo/test", body: `{"seq":0}`, status: 400},
	{method: "DELETE", path: "/v1/routes/echo", status: 204},
	{method: "GET", path: "/v1/routes/echo", status: 404},
	{method: "POST", path: "/v1/routes/echo/test", body: `{"seq":${opened}}`, status: 404},

	// ${receiver} is a loopback server that answers 204; the server's webhook
	// policy lets webhooks reach it.
	{method: "POST", path: "/v1/keys", body: `{"name":"door-reader","publish":[],"subscribe":["app.door.>"]}`, status: 201, keep: map[string]string{"reader": "token", "readerkey": "id"}},
	{method: "POST", path: "/v1/webhooks", body: `{"url":"${receiver}/in","topics":["app.door.>"],"types":["opened"],"headers":{"X-Env":"test"},"rate":50,"after":0}`, status: 201, keep: map[string]string{"wh": "id"}},
	{method: "POST", path: "/v1/webhooks", body: `{"url":"${receiver}/in","topics":["app.door.>"],"ordered":true,"secret":"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"}`, key: "reader", status: 201, keep: map[string]string{"whreader": "id"}},
	{method: "POST", path: "/v1/webhooks", body: `{"url":"${receiver}/in","topics":["app.>"]}`, key: "reader", status: 403},
	{method: "POST", path: "/v1/webhooks", body: `{"url":"ftp://example.org","topics":["app.>"]}`, status: 400},
	{method: "POST", path: "/v1/webhooks", body: `{"url":"${receiver}/in","topics":["app.>"],"rotate":true}`, status: 400},
	{method: "GET", path: "/v1/webhooks", status: 200},
	{method: "GET", path: "/v1/webhooks", key: "reader", status: 200},
	{method: "GET", path: "/v1/webhooks/${wh}", status: 200},
	{method: "GET", path: "/v1/webhooks/${wh}", key: "reader", status: 404}, // another key's
	{method: "GET", path: "/v1/webhooks/wh_aaaaaaaaaaaaaaaa", status: 404},
	{method: "PATCH", path: "/v1/webhooks/${wh}", body: `{"rotate":true,"grace":"1h","types":[],"headers":{}}`, status: 200},
	{method: "PATCH", path: "/v1/webhooks/${wh}", body: `{"ordered":true}`, status: 200},
	{method: "PATCH", path: "/v1/webhooks/${wh}", body: `{"after":1}`, status: 400},
	{method: "PATCH", path: "/v1/webhooks/${wh}", body: `{"topics":"app.>"}`, status: 400},
	{method: "PATCH", path: "/v1/webhooks/wh_aaaaaaaaaaaaaaaa", body: `{"ordered":true}`, status: 404},
	{method: "GET", path: "/v1/webhooks/${wh}/attempts", status: 200, until: "attempts.0.seq"},
	{method: "GET", path: "/v1/webhooks/wh_aaaaaaaaaaaaaaaa/attempts", status: 404},
	{method: "POST", path: "/v1/webhooks/${wh}/replay", body: `{"after":0}`, status: 200},
	{method: "POST", path: "/v1/webhooks/${wh}/replay", body: `{"after":1000000}`, status: 409}, // position_ahead
	{method: "POST", path: "/v1/webhooks/${wh}/replay", body: `{}`, status: 400},
	{method: "POST", path: "/v1/webhooks/wh_aaaaaaaaaaaaaaaa/replay", body: `{"after":0}`, status: 404},
	{method: "DELETE", path: "/v1/webhooks/${whreader}", key: "reader", status: 204},
	{method: "DELETE", path: "/v1/webhooks/${whreader}", key: "reader", status: 404},
	{method: "DELETE", path: "/v1/webhooks/${wh}", status: 204},
	{method: "DELETE", path: "/v1/keys/${readerkey}", status: 204},

	{method: "GET", path: "/v1/hooks", status: 200}, // none yet
	{method: "POST", path: "/v1/hooks", body: `{"name":"ci","topic":"app.ci","scheme":"bearer","secret":"0123456789abcdef-ci","rate":100}`, status: 201, keep: map[string]string{"hook": "secret"}},
	{method: "POST", path: "/v1/hooks", body: `{"name":"gh","topic":"app.gh","scheme":"github"}`, status: 201},
	{method: "POST", path: "/v1/hooks", body: `{"name":"std","topic":"app.std","scheme":"standard","type":"std.event"}`, status: 201},
	{method: "POST", path: "/v1/hooks", body: `{"name":"ci","topic":"app.ci","scheme":"bearer"}`, status: 409},
	{method: "POST", path: "/v1/hooks", body: `{"name":"x","topic":"app.x","scheme":"carrier-pigeon"}`, status: 400},
	{method: "POST", path: "/v1/hooks", body: `{"name":"x","topic":"hue.x","scheme":"bearer"}`, status: 400},
	{method: "GET", path: "/v1/hooks", status: 200},
	{method: "GET", path: "/v1/hooks/ci", status: 200},
	{method: "GET", path: "/v1/hooks/nowhere", status: 404},
	{method: "POST", path: "/v1/hooks/ci", body: `{"build":7,"ok":true}`, key: "hook", hdr: http.Header{"Idempotency-Key": {"build-7"}}, status: 200},
	{method: "POST", path: "/v1/hooks/ci", body: `{"build":7,"ok":true}`, key: "hook", hdr: http.Header{"Idempotency-Key": {"build-7"}}, status: 200}, // duplicate
	{method: "POST", path: "/v1/hooks/ci", body: `["no","delivery","id"]`, key: "hook", status: 200},
	{method: "POST", path: "/v1/hooks/ci", body: `{"build":8}`, key: "none", status: 401},
	{method: "POST", path: "/v1/hooks/gh", body: `{"build":8}`, hdr: http.Header{"X-Hub-Signature-256": {"sha256=00"}}, key: "none", status: 401},
	{method: "POST", path: "/v1/hooks/ci", body: `not JSON`, key: "hook", status: 400},
	{method: "POST", path: "/v1/hooks/nowhere", body: `{}`, key: "none", status: 404},
	{method: "DELETE", path: "/v1/hooks/ci", status: 204},
	{method: "DELETE", path: "/v1/hooks/ci", status: 404},
	{method: "POST", path: "/v1/hooks/ci", body: `{}`, key: "hook", status: 404},

	// The connectors' upstreams are on a loopback port nothing listens on:
	// they run, fail and retry, which their state shows.
	{method: "GET", path: "/v1/connectors", status: 200}, // none yet
	{method: "POST", path: "/v1/connectors", body: `{"name":"hall","kind":"hue","url":"https://127.0.0.1:1","key":"bridge-key","insecure_tls":true}`, status: 201},
	{method: "POST", path: "/v1/connectors", body: `{"name":"hall","kind":"hue","url":"https://127.0.0.1:2"}`, status: 200}, // replaced, the key kept
	{method: "POST", path: "/v1/connectors", body: `{"name":"den","kind":"hue","url":"https://127.0.0.1:1"}`, status: 400},  // no key
	{method: "POST", path: "/v1/connectors", body: `{"name":"den","kind":"sonos","url":"https://127.0.0.1:1","key":"k"}`, status: 400},
	{method: "POST", path: "/v1/connectors", body: `{"name":"den","kind":"hue","url":"https://127.0.0.1:1","key":"k","colour":"red"}`, status: 400},
	{method: "GET", path: "/v1/connectors", status: 200},
	{method: "GET", path: "/v1/connectors/hall", status: 200},
	{method: "GET", path: "/v1/connectors/nowhere", status: 404},
	{method: "DELETE", path: "/v1/connectors/hall", status: 204},
	{method: "DELETE", path: "/v1/connectors/hall", status: 404},

	{method: "GET", path: "/v1/stats/history", status: 200},
	{method: "GET", path: "/v1/stats/history?since=0", status: 200},
	{method: "GET", path: "/v1/stats/history?since=yesterday", status: 400},
	{method: "GET", path: "/v1/keys", status: 200},   // with the keys the dialects made
	{method: "GET", path: "/v1/backup", status: 200}, // with all of the above
}

// TestOpenAPI keeps /v1/openapi.json true: the served document is valid
// OpenAPI, names every native and admin route herald mounts, and every
// operation in it is called on a real server with its request and answer
// (status, headers, body) validated against it.
func TestOpenAPI(t *testing.T) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	s := servertest.Start(t, server.Config{
		StatsEvery: 10 * time.Millisecond, // samples for /v1/stats/history
		Webhooks:   webhook.Config{Policy: webhook.Policy{AllowPrivate: true}},
	})
	ctx := context.Background()
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)

	resp, err := http.Get(s.URL() + openapi.Path)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(served, openapi.Document()) {
		t.Fatalf("GET %s without a key: %d, %d bytes; want 200 and the document", openapi.Path, resp.StatusCode, len(served))
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(served)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %s; want 3.1", doc.OpenAPI)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}

	// Every mounted native and admin route is in the document.
	for _, p := range mountedPatterns(t) {
		method, path, ok := strings.Cut(p, " ")
		if !ok || !strings.HasPrefix(path, "/v1/") && path != "/healthz" && path != "/readyz" {
			continue // a method table, or a vendor's own path
		}
		if item := doc.Paths.Value(path); item == nil || item.GetOperation(method) == nil {
			t.Errorf("%s is mounted but not in the document", p)
		}
	}

	vars := map[string]string{"admin": s.Admin, "receiver": receiver.URL}
	exercised := map[string]bool{}
	opts := &openapi3filter.Options{AuthenticationFunc: presented, IncludeResponseStatus: true}
	for _, c := range openAPICalls {
		path := os.Expand(c.path, func(n string) string { return vars[n] })
		body := os.Expand(c.body, func(n string) string { return vars[n] })
		name := c.method + " " + path
		req, err := http.NewRequestWithContext(ctx, c.method, s.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		switch {
		case c.basic != "":
			user, pass, _ := strings.Cut(os.Expand(c.basic, func(n string) string { return vars[n] }), ":")
			req.SetBasicAuth(user, pass)
		case c.key == "none":
		case c.key == "":
			req.Header.Set("Authorization", "Bearer "+s.Admin)
		default:
			req.Header.Set("Authorization", "Bearer "+vars[c.key])
		}
		for k, v := range c.hdr {
			req.Header[k] = v
		}
		if c.vendor {
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("%s: %d, want %d: %.300s", name, resp.StatusCode, c.status, got)
			}
			continue
		}
		if c.until != "" {
			awaitField(t, client, req, body, c.until)
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s: not in the document: %v", name, err)
			continue
		}
		exercised[strings.ToUpper(route.Method)+" "+route.Path] = true
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil && c.status < 400 {
			t.Errorf("%s: the request does not match the document: %v", name, err)
		}
		// ValidateRequest read the body; send it again.
		req.Body = io.NopCloser(strings.NewReader(body))

		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ct := resp.Header.Get("Content-Type")
		var got []byte
		stream := resp.StatusCode == http.StatusSwitchingProtocols || strings.HasPrefix(ct, "text/event-stream")
		if !stream {
			got, _ = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d: %.300s", name, resp.StatusCode, c.status, got)
			continue
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
		if stream {
			// An endless body: its status and content type are what can be checked.
			if err := streamDeclared(route, resp.StatusCode, ct); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		out.SetBodyBytes(got)
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Errorf("%s: the answer does not match the document: %v\n%.500s", name, err, got)
		}
		var answer any
		dec := json.NewDecoder(bytes.NewReader(got))
		dec.UseNumber()
		dec.Decode(&answer)
		for v, field := range c.keep {
			s := fieldAt(answer, field)
			if s == "" {
				t.Fatalf("%s: no %q in %s", name, field, got)
			}
			vars[v] = s
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !exercised[method+" "+path] {
				t.Errorf("%s %s is in the document but no call exercises it", method, path)
			}
		}
	}
}

// awaitField sends req (with body) until its answer has field, or fails
// the test after a generous bound.
func awaitField(t *testing.T, client *http.Client, req *http.Request, body, field string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(strings.NewReader(body))
		resp, err := client.Do(r)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var answer any
		dec := json.NewDecoder(bytes.NewReader(got))
		dec.UseNumber()
		if dec.Decode(&answer) == nil && fieldAt(answer, field) != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s: no %s in %.300s", req.Method, req.URL.Path, field, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fieldAt returns the string or number at a dotted path (events.0.seq) of
// a decoded answer, or "".
func fieldAt(v any, path string) string {
	for _, step := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[step]
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

// presented checks that the request carries the credential a security
// scheme names, where the scheme says; herald itself checks its value.
func presented(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "bearer":
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			return nil
		}
	case "accessToken":
		if r.URL.Query().Get("access_token") != "" {
			return nil
		}
	default:
		return errors.New("unknown security scheme " + in.SecuritySchemeName)
	}
	return errors.New("no " + in.SecuritySchemeName + " credential")
}

// streamDeclared checks that the operation declares status with content
// type ct (101: no content).
func streamDeclared(route *routers.Route, status int, ct string) error {
	r := route.Operation.Responses.Status(status)
	if r == nil || r.Value == nil {
		return errors.New("status not in the document")
	}
	if status == http.StatusSwitchingProtocols {
		return nil
	}
	mt, _, _ := strings.Cut(ct, ";")
	if r.Value.Content.Get(mt) == nil {
		keys := slices.Collect(func(yield func(string) bool) {
			for k := range r.Value.Content {
				if !yield(k) {
					return
				}
			}
		})
		return errors.New("content type " + ct + " not in the document's " + strings.Join(keys, ", "))
	}
	return nil
}
