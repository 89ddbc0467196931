package hue

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRotateTapDial: a turn is a start report and then repeats, each an
// update of the dial's relative_rotary service with rotary_report and the
// deprecated last_event, dated one interval apart and ending now.
func TestRotateTapDial(t *testing.T) {
	now := mustTime("2026-03-01T08:00:00Z")
	b := newBridge(t, Config{Now: func() time.Time { return now }})
	dial := b.addDevice("tap_dial", "Dial")
	rotary := dial["relative_rotary"][0]
	stream := b.aiohueStream(t.Context())
	r := b.adminDo("/v1/hue/rotate", `{"device":"Dial","steps":-30,"repeats":2,"duration":500}`)
	var env struct {
		Data struct {
			RID    string   `json:"rid"`
			Events []string `json:"events"`
		}
	}
	r.decode(t, &env)
	if env.Data.RID != rotary || strings.Join(env.Data.Events, ",") != "start,repeat,repeat" {
		t.Fatalf("rotate: %s", r.body)
	}
	items, _ := collect(t, stream, 3)
	for i, it := range items {
		rr := sub(it, "relative_rotary")
		report := sub(rr, "rotary_report")
		want := now.Add(time.Duration(i-2) * 500 * time.Millisecond).Format(reportTime)
		if it["id"] != rotary || str(report, "updated") != want || str(report, "action") != env.Data.Events[i] ||
			!jsonEqual(sub(rr, "last_event")["rotation"], report["rotation"]) ||
			!jsonEqual(report["rotation"], normalize(object{"direction": "counter_clock_wise", "steps": 30, "duration": 500})) {
			t.Fatalf("report %d: %v", i, it)
		}
	}
	body, _ := json.Marshal(items)
	golden(t, "rotary_events.json", anonymise(t, body))
	golden(t, "rotary_get.json", anonymise(t, b.hue("GET", "/clip/v2/resource/relative_rotary/"+rotary, "").body))

	// The sensor endpoint's rotate is a turn of one report.
	b.adminDo("/v1/hue/sensor", `{"device":"Dial","rotate":15}`)
	items, _ = collect(t, stream, 1)
	report := sub(sub(items[0], "relative_rotary"), "rotary_report")
	if str(report, "action") != "start" || sub(report, "rotation")["steps"] != 15.0 || sub(report, "rotation")["direction"] != "clock_wise" {
		t.Fatalf("sensor rotate: %v", items[0])
	}
}

func TestRotateErrors(t *testing.T) {
	b := newBridge(t, Config{})
	b.addDevice("tap_dial", "Dial")
	b.addDevice("dimmer_switch", "Dimmer")
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"device":"Dial","steps":0}`, 400},
		{`{"device":"Dial","steps":1001}`, 400},
		{`{"device":"Dial","steps":10,"repeats":101}`, 400},
		{`{"device":"Dial","steps":10,"repeats":-1}`, 400},
		{`{"device":"Dial","steps":10,"duration":-5}`, 400},
		{`{"device":"Dial","steps":10,"duration":10001}`, 400},
		{`{"device":"Dial","steps":10,"speed":3}`, 400},
		{`{"device":"Dimmer","steps":10}`, 400},
		{`{"device":"Nobody","steps":10}`, 404},
	} {
		_, before, _ := b.core.Log.Bounds(t.Context())
		r := b.do("POST", "/v1/hue/rotate", tc.body, "Authorization: Bearer "+b.admin)
		if r.status != tc.status {
			t.Errorf("%s: %d %s", tc.body, r.status, r.body)
		}
		if _, after, _ := b.core.Log.Bounds(t.Context()); after != before {
			t.Errorf("%s: events appended", tc.body)
		}
	}
}
