package faultapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// The rules' endpoints: the example, listing, reading, deleting,
// and every refusal in the native shape, naming the field at fault.
func TestFaultsEndpoints(t *testing.T) {
	s := newServer(t, nil)
	admin := bearer(s.admin)
	a := s.call(t, "POST", "/v1/faults", admin, `{"dialect":"native","action":"cut_stream","after_events":3}`)
	id, _ := a.json["id"].(string)
	if a.status != 201 || id == "" || a.json["action"] != "cut_stream" || a.json["after_events"] != 3.0 ||
		a.json["dialect"] != "native" || a.json["probability"] != 1.0 || a.header.Get("Location") != "/v1/faults/"+id {
		t.Fatalf("POST: %d %s %v", a.status, a.raw, a.header)
	}
	second := s.addFault(t, `{"action":"status","status":429,"key":"`+s.appID+`","ttl":"1h"}`)
	if a := s.call(t, "GET", "/v1/faults/"+second, admin, ""); a.status != 200 || a.json["retry_after"] != "1s" || a.json["expires"] == nil {
		t.Fatalf("GET one: %d %s", a.status, a.raw)
	}
	a = s.call(t, "GET", "/v1/faults", admin, "")
	list, _ := a.json["faults"].([]any)
	if a.status != 200 || len(list) != 2 || list[0].(map[string]any)["id"] != id {
		t.Fatalf("GET list: %d %s", a.status, a.raw)
	}
	if a := s.call(t, "DELETE", "/v1/faults/"+id, admin, ""); a.status != 204 {
		t.Fatalf("DELETE one: %d %s", a.status, a.raw)
	}
	for _, tc := range []struct {
		method, path string
		header       http.Header
		body         string
		status       int
		code, msg    string
	}{
		{"DELETE", "/v1/faults/" + id, admin, "", 404, "not_found", ""},
		{"GET", "/v1/faults/nonsense", admin, "", 404, "not_found", ""},
		{"POST", "/v1/faults", admin, `{"action":"cut_stream","after_events":0.5}`, 400, "bad_request", "after_events:"},
		{"POST", "/v1/faults", admin, `{"action":"cut_stream","after_events":-2}`, 400, "bad_request", "after_events:"},
		{"POST", "/v1/faults", admin, `{"action":"status","status":500}`, 400, "bad_request", "status:"},
		{"POST", "/v1/faults", admin, `{"action":"delay","delay":"soon"}`, 400, "bad_request", "delay:"},
		{"POST", "/v1/faults", admin, `{"action":"reject_key","flavour":"x"}`, 400, "bad_request", "flavour:"},
		{"POST", "/v1/faults", admin, `{"action":"reject_key","key":"` + s.app + `"}`, 400, "bad_request", "key:"},
		{"POST", "/v1/faults", admin, `{"action":"status","status":429,"retry_after":"` + strings.Repeat("1", 70000) + `s"}`, 413, "too_large", ""},
		{"POST", "/v1/faults", bearer(s.app), `{"action":"reject_key"}`, 403, "forbidden", ""},
		{"GET", "/v1/faults", nil, "", 401, "unauthorized", ""},
		{"PUT", "/v1/faults", admin, "", 405, "method_not_allowed", ""},
		{"PUT", "/v1/faults/" + second, admin, "", 405, "method_not_allowed", ""},
	} {
		a := s.call(t, tc.method, tc.path, tc.header, tc.body)
		if a.status != tc.status || a.errCode() != tc.code || !strings.HasPrefix(a.errMessage(), tc.msg) {
			t.Errorf("%s %s %.60s: %d %s, want %d %s %q…", tc.method, tc.path, tc.body, a.status, a.raw, tc.status, tc.code, tc.msg)
		}
	}
	if a := s.call(t, "GET", "/v1/faults", admin, ""); len(a.json["faults"].([]any)) != 1 {
		t.Fatalf("a refused request changed the rules: %s", a.raw)
	}
	a = s.call(t, "DELETE", "/v1/faults", admin, "")
	if a.status != 200 || a.json["deleted"] != 1.0 {
		t.Fatalf("DELETE all: %d %s", a.status, a.raw)
	}
	if s.c.Faults.Rules() != nil {
		t.Fatal("rules in effect after DELETE /v1/faults")
	}
}
