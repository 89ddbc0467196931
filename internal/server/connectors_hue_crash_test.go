package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/connector"
)

// hueLogEvent is a Hue event in the native read of a herald's log.
type hueLogEvent struct {
	Seq   uint64          `json:"seq"`
	ID    string          `json:"id"`
	Topic string          `json:"topic"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
}

// logOf reads every event on topic from base's log with an admin key.
func logOf(t *testing.T, base, key, topic string) []hueLogEvent {
	t.Helper()
	var all []hueLogEvent
	after := uint64(0)
	for {
		var page struct {
			Events []hueLogEvent
			Next   uint64
		}
		st, _, b := request(t, nil, "GET", fmt.Sprintf("%s/v1/events?after=%d&topics=%s&limit=1000", base, after, topic),
			http.Header{"Authorization": {"Bearer " + key}}, "", &page)
		if st != 200 {
			t.Fatalf("read %s after %d: %d %s", topic, after, st, b)
		}
		all = append(all, page.Events...)
		if len(page.Events) == 0 {
			return all
		}
		after = page.Next
	}
}

// reports lists a button's reports in events as "<event>@<updated>".
func reports(evs []hueLogEvent) []string {
	var out []string
	for _, e := range evs {
		var item struct {
			Button struct {
				Report struct{ Event, Updated string } `json:"button_report"`
			}
		}
		if json.Unmarshal(e.Data, &item) == nil && item.Button.Report.Event != "" {
			out = append(out, item.Button.Report.Event+"@"+item.Button.Report.Updated)
		}
	}
	return out
}

// A downstream herald running a hue connector is killed (SIGKILL) while the
// upstream's button is pressed, and started again: nothing is stored twice,
// what changed while it was down arrives as update events, and it follows
// the upstream again.
func TestHueConnectorSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	up := startHop(t)
	button := up.hueDevice("dimmer_switch", "Hall", "button")
	light := up.hueDevice("color_lamp", "Desk", "light")
	upKey := up.huePair()
	down := startChild(t)
	view := func() connector.View {
		var v connector.View
		if st := down.do("GET", "/v1/connectors/home", down.admin(), "", &v); st != 200 {
			t.Fatalf("GET /v1/connectors/home: %d", st)
		}
		return v
	}
	if st := down.do("POST", "/v1/connectors", down.admin(), `{"name":"home","kind":"hue","url":"`+up.URL()+`","key":"`+upKey+`"}`, nil); st != 201 {
		t.Fatalf("POST /v1/connectors: %d", st)
	}
	connected := func() {
		eventually(t, 60*time.Second, func() string {
			if v := view(); !v.State.Connected {
				return fmt.Sprintf("not connected: %+v", v)
			}
			return ""
		})
	}
	connected()
	downLight := func() float64 {
		b := -1.0
		for _, e := range logOf(t, down.base(), down.key, "hue.light."+light) {
			var item struct{ Dimming *struct{ Brightness float64 } }
			if json.Unmarshal(e.Data, &item) == nil && item.Dimming != nil {
				b = item.Dimming.Brightness
			}
		}
		return b
	}
	// barrier changes the upstream light and waits for the downstream to
	// have it: whatever the upstream sent before is there too.
	barrier := func(b float64) {
		t.Helper()
		if st, _ := up.hueCall(upKey, "PUT", "/clip/v2/resource/light/"+light, fmt.Sprintf(`{"dimming":{"brightness":%v}}`, b)); st != 200 {
			t.Fatalf("upstream PUT: %d", st)
		}
		eventually(t, 60*time.Second, func() string {
			if got := downLight(); got != b {
				return fmt.Sprintf("downstream light %v, want %v", got, b)
			}
			return ""
		})
	}
	press := func() { up.admin("POST", "/v1/hue/press", `{"button":"`+button+`"}`, nil) }
	press()
	barrier(10)

	// Presses go on while the downstream is killed.
	stopPressing := keepDoing(0, press)
	before := len(reports(logOf(t, down.base(), down.key, "hue.button."+button)))
	eventually(t, 30*time.Second, func() string {
		if n := len(reports(logOf(t, down.base(), down.key, "hue.button."+button))); n < before+4 {
			return fmt.Sprintf("%d presses arrived before the kill", n-before)
		}
		return ""
	})
	down.kill()
	stopPressing()
	// Made while it is down: a change no stream will carry to it.
	press()
	if st, _ := up.hueCall(upKey, "PUT", "/clip/v2/resource/light/"+light, `{"on":{"on":true},"dimming":{"brightness":33}}`); st != 200 {
		t.Fatalf("upstream PUT in the gap: %d", st)
	}
	down.start()
	connected()
	eventually(t, 60*time.Second, func() string {
		if got := downLight(); got != 33 {
			return fmt.Sprintf("downstream light %v after the restart, want the gap's 33", got)
		}
		return ""
	})
	press()
	barrier(11)

	upReports := reports(logOf(t, up.URL(), up.Admin, "hue.button."+button))
	downEvs := logOf(t, down.base(), down.key, "hue.button."+button)
	downReports := reports(downEvs)
	// Nothing twice, nothing the upstream did not make, in its order: the
	// downstream's reports are a subsequence of the upstream's (a report
	// is not unique by itself: presses in one millisecond read alike).
	next := 0
	for i, r := range downReports {
		j := slices.Index(upReports[next:], r)
		if j < 0 {
			t.Fatalf("downstream report %d (%s) is not among the upstream's after its %d-th: stored twice, or out of order\ndownstream %v\nupstream %v",
				i, r, next, downReports, upReports)
		}
		next += j + 1
	}
	// The gap's last press arrived as the button's state after the gap, an
	// update; the press after the restart as it came.
	if n := len(downReports); n < 3 || downReports[n-3] != upReports[len(upReports)-3] ||
		!slices.Equal(downReports[n-2:], upReports[len(upReports)-2:]) {
		t.Fatalf("the gap's last report and the press after the restart:\ndownstream %v\nupstream %v", downReports, upReports)
	}
	for _, e := range downEvs {
		if e.Type != "update" && e.Type != "add" {
			t.Fatalf("button event of type %s", e.Type)
		}
	}
	ids := map[string]bool{}
	for _, e := range logOf(t, down.base(), down.key, "hue.>") {
		if ids[e.ID] {
			t.Fatalf("event id %s stored twice", e.ID)
		}
		ids[e.ID] = true
	}
	t.Logf("upstream made %d button reports, the downstream stored %d (the gap's as its last state)", len(upReports), len(downReports))
}
