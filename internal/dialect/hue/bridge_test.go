package hue

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
)

func byType(list []object) map[string][]object {
	m := map[string][]object{}
	for _, o := range list {
		m[str(o, "type")] = append(m[str(o, "type")], o)
	}
	return m
}

func TestBridgeResourcesOnFirstStart(t *testing.T) {
	b := newBridge(t, Config{TimeZone: "Europe/Amsterdam"})
	all := byType(b.resources(""))
	if len(all["bridge"]) != 1 || len(all["bridge_home"]) != 1 || len(all["device"]) != 1 ||
		len(all["zigbee_connectivity"]) != 1 || len(all["grouped_light"]) != 1 {
		t.Fatalf("resources: %v", all)
	}
	br := all["bridge"][0]
	if !regexp.MustCompile(`^001788fffe[0-9a-f]{6}$`).MatchString(str(br, "bridge_id")) ||
		str(sub(br, "time_zone"), "time_zone") != "Europe/Amsterdam" {
		t.Fatalf("bridge: %v", br)
	}
	dev := all["device"][0]
	pd := sub(dev, "product_data")
	if pd["model_id"] != "BSB002" || pd["product_archetype"] != "bridge_v2" || sub(dev, "metadata")["archetype"] != "bridge_v2" {
		t.Fatalf("bridge device: %v", dev)
	}
	// aiohue finds the bridge device by its bridge service.
	if !slices.Contains(refs(dev, "services"), ref{RID: str(br, "id"), RType: "bridge"}) {
		t.Fatalf("bridge device services: %v", dev["services"])
	}
	if str(sub(br, "owner"), "rid") != str(dev, "id") {
		t.Fatalf("bridge owner: %v", br)
	}
	// The same bucket on a "restart" (or another node) yields the same bridge.
	again, err := New(b.core.Core, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if again.BridgeID() != str(br, "bridge_id") || len(b.resources("")) != len(bridgeResources(again.bridge)) {
		t.Fatalf("second start: %s vs %s", again.BridgeID(), str(br, "bridge_id"))
	}
	// Types without resources answer an empty list, unknown types 404.
	if got := b.resources("scene"); len(got) != 0 {
		t.Fatalf("scene: %v", got)
	}
	if r := b.hue("GET", "/clip/v2/resource/nonsense", ""); r.status != 404 {
		t.Fatalf("unknown type: %d", r.status)
	}
}

func TestUnauthorizedIs403(t *testing.T) {
	b := newBridge(t, Config{})
	native := b.core.Key(t, auth.Spec{Name: "native", Subscribe: []string{">"}})
	for _, tc := range []struct{ name, path, key string }{
		{"no key", "/clip/v2/resource", ""},
		{"wrong key", "/clip/v2/resource", "hk_0123456789abcdef_wrongwrongwrongwrongwrongwrong12"},
		{"opaque garbage", "/clip/v2/resource/light", "not-a-key"},
		{"native key", "/clip/v2/resource", native},
		{"eventstream", "/eventstream/clip/v2", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.key != "" {
				h = append(h, appKeyHeader+": "+tc.key)
			}
			r := b.do("GET", tc.path, "", h...)
			if r.status != 403 || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s", r.status, r.header.Get("Content-Type"))
			}
			golden(t, "unauthorized.json", r.body)
		})
	}
}

func TestPublicConfig(t *testing.T) {
	b := newBridge(t, Config{Name: "Philips hue"})
	for _, path := range []string{"/api/config", "/api/nouser/config", "/api/0/config"} {
		r := b.do("GET", path, "")
		if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d", path, r.status)
		}
		var cfg map[string]any
		r.decode(t, &cfg)
		id := b.api.BridgeID()
		if cfg["bridgeid"] != strings.ToUpper(id) || cfg["mac"] != macFromBridgeID(id) {
			t.Fatalf("%s: %v", path, cfg)
		}
		// Stable golden: the per-bridge values replaced.
		got := strings.ReplaceAll(string(r.body), strings.ToUpper(id), "001788FFFE123456")
		got = strings.ReplaceAll(got, macFromBridgeID(id), "00:17:88:12:34:56")
		golden(t, "public_config.json", []byte(got))
	}
	if got := macFromBridgeID("001788fffe123456"); got != "00:17:88:12:34:56" {
		t.Fatalf("mac %s", got)
	}
}

func TestPairing(t *testing.T) {
	now := mustTime("2026-01-01T10:00:00Z")
	clock := func() time.Time { return now }
	b := newBridge(t, Config{Now: clock})
	// newBridge paired once; the window is still open at the same instant.
	late := now.Add(DefaultLinkWindow + 1)
	now = late
	r := b.do("POST", "/api", `{"devicetype":"app#instance","generateclientkey":true}`)
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	golden(t, "pair_link_not_pressed.json", r.body)
	golden(t, "pair_no_devicetype.json", b.do("POST", "/api", `{"generateclientkey":true}`).body)
	golden(t, "pair_bad_json.json", b.do("POST", "/api", `{"devicetype":`).body)
	golden(t, "api_get.json", b.do("GET", "/api", "").body)

	b.adminDo("/v1/hue/link", "")
	r = b.do("POST", "/api", `{"devicetype":"app#instance","generateclientkey":true}`)
	var ok []struct {
		Success struct {
			Username  string `json:"username"`
			ClientKey string `json:"clientkey"`
		} `json:"success"`
	}
	r.decode(t, &ok)
	if len(ok) != 1 || ok[0].Success.Username == "" || !regexp.MustCompile(`^[0-9A-F]{32}$`).MatchString(ok[0].Success.ClientKey) {
		t.Fatalf("pair: %s", r.body)
	}
	k, err := b.core.Auth.Authenticate(t.Context(), ok[0].Success.Username)
	if err != nil || k.Dialect != "hue" || k.Name != "app#instance" || k.Admin {
		t.Fatalf("key %+v %v", k, err)
	}
	if r := b.do("GET", "/clip/v2/resource", "", appKeyHeader+": "+ok[0].Success.Username); r.status != 200 {
		t.Fatalf("new key: %d", r.status)
	}
	// Without generateclientkey (aiohue), only the username.
	r = b.do("POST", "/api", `{"devicetype":"aiohue"}`)
	var plain []map[string]map[string]string
	r.decode(t, &plain)
	if len(plain) != 1 || plain[0]["success"]["username"] == "" || len(plain[0]["success"]) != 1 {
		t.Fatalf("plain pair: %s", r.body)
	}
}

func TestGoldenShapes(t *testing.T) {
	b := newBridge(t, Config{Name: "Hue Bridge", TimeZone: "Europe/Amsterdam"})
	ids := b.addDevice("dimmer_switch", "Hall switch")
	r := b.hue("GET", "/clip/v2/resource/button/"+ids["button"][0], "")
	golden(t, "button_get.json", anonymise(t, r.body))
	r = b.hue("GET", "/clip/v2/resource/bridge", "")
	golden(t, "bridge_get.json", anonymise(t, r.body))
	r = b.hue("PUT", "/clip/v2/resource/button/"+ids["button"][0], `{"type":"button","metadata":{"control_id":1},"button":{"repeat_interval":800}}`)
	golden(t, "button_put.json", anonymise(t, r.body))
	r = b.hue("GET", "/clip/v2/resource/light/00000000-0000-0000-0000-000000000000", "")
	if r.status != 404 {
		t.Fatalf("missing light: %d", r.status)
	}
	golden(t, "not_found.json", r.body)
}

// anonymise replaces ids and the bridge id in a body with stable
// placeholders, in order of appearance, and re-indents it for review.
func anonymise(t testing.TB, body []byte) []byte {
	t.Helper()
	seen := map[string]string{}
	s := regexp.MustCompile(`[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}`).ReplaceAllStringFunc(string(body), func(id string) string {
		if p, ok := seen[id]; ok {
			return p
		}
		p := fmt.Sprintf("00000000-0000-4000-8000-%012x", 10+len(seen))
		seen[id] = p
		return p
	})
	s = regexp.MustCompile(`001788fffe[0-9a-f]{6}`).ReplaceAllString(s, "001788fffe123456")
	s = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`).ReplaceAllString(s, "2026-01-01T00:00:00.000Z")
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	return append(out, '\n')
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestRateLimitIs429: a key over its rate gets 429 with Retry-After (at
// least a second: aiohue backs off and retries) and Hue's error body, on
// the REST API and the event stream alike.
func TestRateLimitIs429(t *testing.T) {
	b := newBridge(t, Config{PollTimeout: 100 * time.Millisecond}) // a poll let through ends soon
	slow := b.core.Key(t, auth.Spec{Name: "slow#app", Dialect: "hue", Publish: []string{"hue.>"},
		Subscribe: []string{"hue.>"}, Rate: 1})
	for _, path := range []string{"/clip/v2/resource", "/eventstream/clip/v2"} {
		var r resp
		for range 10 {
			if r = b.do("GET", path, "", appKeyHeader+": "+slow, "Accept: application/json"); r.status == 429 {
				break
			}
		}
		if r.status != 429 || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d after 10 requests at 1/s", path, r.status)
		}
		if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
			t.Fatalf("%s: Retry-After %q", path, r.header.Get("Retry-After"))
		}
		golden(t, "too_many_requests.json", r.body)
	}
	// Other keys are not slowed down by it.
	if r := b.hue("GET", "/clip/v2/resource/bridge", ""); r.status != 200 {
		t.Fatalf("another key: %d", r.status)
	}
}
