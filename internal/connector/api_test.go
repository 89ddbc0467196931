package connector_test

import (
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/connector"
)

// The endpoints: create, read, list, replace, delete, and every refusal in
// the native shape; the secret never comes back.
func TestConnectorsEndpoints(t *testing.T) {
	e := newEnv(t)
	body := `{"name":"home","kind":"fake","url":"https://192.168.1.2","key":"s3cret-key","insecure_tls":true}`
	r := e.do(t, "POST", "/v1/connectors", e.admin, body)
	if r.status != 201 || r.header.Get("Location") != "/v1/connectors/home" {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	var v connector.View
	r.decode(t, &v)
	if v.Name != "home" || v.Kind != "fake" || !v.InsecureTLS || !v.KeySet || strings.Contains(r.body, "s3cret") {
		t.Fatalf("POST answer: %s", r.body)
	}
	// Until the connector has said something its state has no time, not
	// the zero one (year 1).
	if strings.Contains(r.body, `"0001-01-01T`) {
		t.Errorf("POST answer with a zero time: %s", r.body)
	}
	for _, path := range []string{"/v1/connectors", "/v1/connectors/home"} {
		if r := e.do(t, "GET", path, e.admin, ""); r.status != 200 || strings.Contains(r.body, "s3cret") || !strings.Contains(r.body, `"home"`) {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	// Replaced without a key: the stored one is kept.
	r = e.do(t, "POST", "/v1/connectors", e.admin, `{"name":"home","kind":"fake","url":"https://192.168.1.3"}`)
	if r.status != 200 {
		t.Fatalf("replace: %d %s", r.status, r.body)
	}
	waitFor(t, "the replaced connector to run with the stored key", func() bool {
		e.fake.mu.Lock()
		defer e.fake.mu.Unlock()
		s := e.fake.envs["home"]
		return s.URL == "https://192.168.1.3" && s.Key == "s3cret-key"
	})

	for _, tc := range []struct {
		method, path, token, body string
		status                    int
		code, msg                 string
	}{
		{"POST", "/v1/connectors", e.admin, `{"name":"Bad Name","kind":"fake","url":"http://x","key":"k"}`, 400, "bad_request", "bad request: name:"},
		{"POST", "/v1/connectors", e.admin, `{"name":"x","kind":"hue","url":"http://x","key":"k"}`, 400, "bad_request", `bad request: kind: "hue" is not one of fake`},
		{"POST", "/v1/connectors", e.admin, `{"name":"x","kind":"fake","url":"ftp://x","key":"k"}`, 400, "bad_request", "bad request: url:"},
		{"POST", "/v1/connectors", e.admin, `{"name":"x","kind":"fake","url":"http://u:p@x","key":"k"}`, 400, "bad_request", "bad request: url:"},
		{"POST", "/v1/connectors", e.admin, `{"name":"x","kind":"fake","url":"http://x"}`, 400, "bad_request", "bad request: key:"},
		{"POST", "/v1/connectors", e.admin, `{"name":"x","kind":"fake","url":"http://x","key":"k","colour":1}`, 400, "bad_request", "bad request: body:"},
		{"POST", "/v1/connectors", e.admin, `{"name":"x"} {}`, 400, "bad_request", "bad request: body:"},
		{"POST", "/v1/connectors", e.admin, `{"name":"` + strings.Repeat("x", 20000) + `"}`, 413, "too_large", ""},
		{"POST", "/v1/connectors", e.app, body, 403, "forbidden", ""},
		{"GET", "/v1/connectors", "", "", 401, "unauthorized", ""},
		{"GET", "/v1/connectors/nothing", e.admin, "", 404, "not_found", "no such connector"},
		{"GET", "/v1/connectors/Not%20A%20Name", e.admin, "", 404, "not_found", "no such connector"},
		{"DELETE", "/v1/connectors/nothing", e.admin, "", 404, "not_found", "no such connector"},
		{"PUT", "/v1/connectors", e.admin, "", 405, "method_not_allowed", ""},
		{"POST", "/v1/connectors/home", e.admin, "", 405, "method_not_allowed", ""},
	} {
		r := e.do(t, tc.method, tc.path, tc.token, tc.body)
		var p struct {
			Error struct{ Code, Message string }
		}
		_ = jsonUnmarshal(r.body, &p)
		if r.status != tc.status || p.Error.Code != tc.code || !strings.HasPrefix(p.Error.Message, tc.msg) {
			t.Errorf("%s %s %.50s: %d %s; want %d %s %q…", tc.method, tc.path, tc.body, r.status, r.body, tc.status, tc.code, tc.msg)
		}
	}
	var list connector.List
	e.do(t, "GET", "/v1/connectors", e.admin, "").decode(t, &list)
	if len(list.Connectors) != 1 || list.Connectors[0].URL != "https://192.168.1.3" {
		t.Fatalf("a refused request changed the connectors: %+v", list)
	}
	if r := e.do(t, "DELETE", "/v1/connectors/home", e.admin, ""); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if r := e.do(t, "GET", "/v1/connectors/home", e.admin, ""); r.status != 404 {
		t.Fatalf("GET after DELETE: %d %s", r.status, r.body)
	}
}
