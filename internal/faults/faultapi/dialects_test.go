package faultapi_test

import (
	"net/http"
	"testing"
)

// A fault answers in the dialect's own shape: a Hue client gets the CLIP
// v2 error body and status a bridge sends, and the native API goes on.
func TestFaultsInHuesShape(t *testing.T) {
	s := newServer(t, withHue(t))
	appKey := http.Header{"Hue-Application-Key": {s.admin}}
	if a := s.call(t, "GET", "/clip/v2/resource/light", appKey, ""); a.status != 200 {
		t.Fatalf("no rules: %d %s", a.status, a.raw)
	}
	s.addFault(t, `{"dialect":"hue","action":"status","status":503,"retry_after":"2s"}`)
	a := s.call(t, "GET", "/clip/v2/resource/light", appKey, "")
	if a.status != 503 || a.header.Get("Retry-After") != "2" || string(a.raw) != `{"errors":[{"description":"service unavailable"}],"data":[]}`+"\n" {
		t.Fatalf("hue 503: %d %v %s", a.status, a.header, a.raw)
	}
	if a := s.call(t, "GET", "/v1/events?after=0", bearer(s.admin), ""); a.status != 200 {
		t.Fatalf("native, under a hue rule: %d %s", a.status, a.raw)
	}
	s.clearFaults(t)

	s.addFault(t, `{"dialect":"hue","action":"reject_key"}`)
	a = s.call(t, "GET", "/clip/v2/resource/light", appKey, "")
	if a.status != 403 || string(a.raw) != `{"errors":[{"description":"unauthorized user"}],"data":[]}`+"\n" {
		t.Fatalf("hue reject_key: %d %s", a.status, a.raw)
	}
}
