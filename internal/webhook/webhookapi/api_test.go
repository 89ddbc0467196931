package webhookapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/native"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/webhook"
	"github.com/herald-io/herald/internal/webhook/webhookapi"
)

type server struct {
	c          *dialecttest.Core
	url        string
	admin, app string
}

func newServer(t *testing.T, opts dialecttest.Options) *server {
	t.Helper()
	c := dialecttest.NewCore(t, opts)
	svc, err := webhook.Open(context.Background(), c.Core, webhook.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	s := &server{c: c, admin: c.Key(t, auth.Spec{Name: "admin", Admin: true}),
		app: c.Key(t, auth.Spec{Name: "app", Publish: []string{"app.>"}, Subscribe: []string{"app.>"}})}
	s.url = c.Serve(t, func(mux *http.ServeMux) {
		native.New(c.Core).Mount(mux)
		webhookapi.Mount(mux, c.Core, svc)
	}).URL
	return s
}

type answer struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

func (a answer) code() string {
	e, _ := a.json["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (s *server) call(t *testing.T, method, path string, h http.Header, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	a.raw, _ = io.ReadAll(resp.Body)
	json.Unmarshal(a.raw, &a.json)
	return a
}

func bearer(k string) http.Header { return http.Header{"Authorization": {"Bearer " + k}} }

func TestWebhooksEndpoints(t *testing.T) {
	s := newServer(t, dialecttest.Options{})
	app := bearer(s.app)
	a := s.call(t, "POST", "/v1/webhooks", app, `{"url":"https://example.org/hook","topics":["app.>"]}`)
	id, _ := a.json["id"].(string)
	secret, _ := a.json["secret"].(string)
	if a.status != 201 || !strings.HasPrefix(secret, "whsec_") || a.header.Get("Location") != "/v1/webhooks/"+id {
		t.Fatalf("POST: %d %s", a.status, a.raw)
	}
	for _, path := range []string{"/v1/webhooks", "/v1/webhooks/" + id} {
		a = s.call(t, "GET", path, app, "")
		if a.status != 200 || bytes.Contains(a.raw, []byte("whsec_")) || !bytes.Contains(a.raw, []byte(id)) {
			t.Fatalf("GET %s: %d %s", path, a.status, a.raw)
		}
	}
	a = s.call(t, "PATCH", "/v1/webhooks/"+id, app, `{"ordered":true,"rate":5}`)
	if a.status != 200 || a.json["ordered"] != true || a.json["rate"] != 5.0 || a.json["secret"] != nil {
		t.Fatalf("PATCH: %d %s", a.status, a.raw)
	}
	a = s.call(t, "PATCH", "/v1/webhooks/"+id, app, `{"rotate":true}`)
	if rotated, _ := a.json["secret"].(string); a.status != 200 || rotated == secret || !strings.HasPrefix(rotated, "whsec_") {
		t.Fatalf("rotate: %d %s", a.status, a.raw)
	}
	if a = s.call(t, "GET", "/v1/webhooks/"+id+"/attempts", app, ""); a.status != 200 || string(a.raw) != `{"attempts":[]}`+"\n" {
		t.Fatalf("attempts: %d %s", a.status, a.raw)
	}
	if a = s.call(t, "POST", "/v1/webhooks/"+id+"/replay", app, `{"after":0}`); a.status != 200 {
		t.Fatalf("replay: %d %s", a.status, a.raw)
	}
	for _, tc := range []struct {
		method, path string
		h            http.Header
		body         string
		status       int
		code         string
	}{
		{"POST", "/v1/webhooks", app, `{"url":"http://127.0.0.1/","topics":["app.>"]}`, 400, "bad_request"},
		{"POST", "/v1/webhooks", app, `{"url":"https://example.org/","topics":["other.>"]}`, 403, "forbidden"},
		{"POST", "/v1/webhooks", app, `{"url":"https://example.org/","topics":["app.>"],"x":1}`, 400, "bad_request"},
		{"POST", "/v1/webhooks", app, `{"url":"https://example.org/","topics":["app.>"],"headers":{"a":"` + strings.Repeat("x", 70000) + `"}}`, 413, "too_large"},
		{"POST", "/v1/webhooks", nil, `{}`, 401, "unauthorized"},
		{"GET", "/v1/webhooks/wh_aaaaaaaaaaaaaaaa", app, "", 404, "not_found"},
		{"GET", "/v1/webhooks/nonsense", app, "", 404, "not_found"},
		{"POST", "/v1/webhooks/" + id + "/replay", app, `{"after":99999}`, 409, "position_ahead"},
		{"POST", "/v1/webhooks/" + id + "/replay", app, `{}`, 400, "bad_request"},
		{"PATCH", "/v1/webhooks/" + id, app, `{"after":3}`, 400, "bad_request"},
		{"PUT", "/v1/webhooks/" + id, app, "", 405, "method_not_allowed"},
		{"GET", "/v1/webhooks/" + id + "/replay", app, "", 405, "method_not_allowed"},
		{"POST", "/v1/hooks", app, `{"name":"x","topic":"app.x","scheme":"bearer"}`, 403, "forbidden"},
	} {
		a := s.call(t, tc.method, tc.path, tc.h, tc.body)
		if a.status != tc.status || a.code() != tc.code {
			t.Errorf("%s %s %.60s: %d %s, want %d %s", tc.method, tc.path, tc.body, a.status, a.raw, tc.status, tc.code)
		}
	}
	if a = s.call(t, "DELETE", "/v1/webhooks/"+id, app, ""); a.status != 204 {
		t.Fatalf("DELETE: %d %s", a.status, a.raw)
	}
	if a = s.call(t, "GET", "/v1/webhooks", bearer(s.admin), ""); a.status != 200 || string(a.raw) != `{"webhooks":[]}`+"\n" {
		t.Fatalf("after DELETE: %d %s", a.status, a.raw)
	}
}

// A replay from a position retention dropped is the explicit gone error,
// with the earliest position still held.
func TestReplayExpired(t *testing.T) {
	s := newServer(t, dialecttest.Options{Log: eventlog.Config{MaxBytes: 4096}})
	a := s.call(t, "POST", "/v1/webhooks", bearer(s.admin), `{"url":"https://example.org/hook","topics":["other.>"]}`)
	id, _ := a.json["id"].(string)
	for range 10 {
		if _, err := s.c.Append(context.Background(), "native", []eventlog.Draft{{Topic: "app.fill", Type: "t",
			Data: []byte(`"` + strings.Repeat("x", 1000) + `"`)}}); err != nil {
			t.Fatal(err)
		}
	}
	a = s.call(t, "POST", "/v1/webhooks/"+id+"/replay", bearer(s.admin), `{"after":0}`)
	e, _ := a.json["error"].(map[string]any)
	if a.status != 410 || a.code() != "position_expired" || e["earliest"] == nil {
		t.Fatalf("replay of an expired position: %d %s", a.status, a.raw)
	}
}

func TestHooksEndpoints(t *testing.T) {
	s := newServer(t, dialecttest.Options{})
	admin := bearer(s.admin)
	a := s.call(t, "POST", "/v1/hooks", admin, `{"name":"billing","topic":"app.in.billing","scheme":"standard"}`)
	secret, _ := a.json["secret"].(string)
	if a.status != 201 || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("POST /v1/hooks: %d %s", a.status, a.raw)
	}
	if a = s.call(t, "GET", "/v1/hooks/billing", admin, ""); a.status != 200 || bytes.Contains(a.raw, []byte("whsec_")) {
		t.Fatalf("GET: %d %s", a.status, a.raw)
	}
	key, _ := webhook.ParseSecret(secret)
	body := `{"type":"invoice.paid"}`
	ts := time.Now().Unix()
	signed := http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {strconv.FormatInt(ts, 10)},
		"Webhook-Signature": {webhook.Sign(key, "msg_1", ts, []byte(body))}}
	first := s.call(t, "POST", "/v1/hooks/billing", signed, body)
	again := s.call(t, "POST", "/v1/hooks/billing", signed, body)
	if first.status != 200 || again.status != 200 || again.json["duplicate"] != true || first.json["seq"] != again.json["seq"] {
		t.Fatalf("deliveries: %d %s, %d %s", first.status, first.raw, again.status, again.raw)
	}
	for _, tc := range []struct {
		path   string
		h      http.Header
		body   string
		status int
		code   string
	}{
		{"/v1/hooks/billing", http.Header{}, body, 401, "unauthorized"},
		{"/v1/hooks/billing", signed, `{"type":"forged"}`, 401, "unauthorized"},
		{"/v1/hooks/billing", signed, strings.Repeat(" ", webhook.MaxHookBody+1), 413, "too_large"},
		{"/v1/hooks/nope", signed, body, 404, "not_found"},
	} {
		a := s.call(t, "POST", tc.path, tc.h, tc.body)
		if a.status != tc.status || a.code() != tc.code {
			t.Errorf("POST %s: %d %.200s, want %d %s", tc.path, a.status, a.raw, tc.status, tc.code)
		}
	}
	evs, _, err := s.c.Log.Read(context.Background(), 0, []string{"app.in.billing"}, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("stored %d events (%v), want 1", len(evs), err)
	}
	if a = s.call(t, "DELETE", "/v1/hooks/billing", admin, ""); a.status != 204 {
		t.Fatalf("DELETE: %d %s", a.status, a.raw)
	}
	if a = s.call(t, "POST", "/v1/hooks/billing", signed, body); a.status != 404 {
		t.Fatalf("a deleted hook: %d %s", a.status, a.raw)
	}
}
