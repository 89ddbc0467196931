package plex

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/eventlog"
)

// received is a notification as a client decodes it.
type received struct {
	seq  uint64 // SSE only
	typ  string
	item map[string]any
}

func decodeSSE(t *testing.T, f sseFrame) received {
	t.Helper()
	var inner map[string]map[string]any
	if err := json.Unmarshal([]byte(f.data), &inner); err != nil || len(inner) != 1 {
		t.Fatalf("data %q: %v", f.data, err)
	}
	r := received{typ: f.event}
	r.seq, _ = strconv.ParseUint(f.id, 10, 64)
	for el, v := range inner {
		if el != Element(f.event) {
			t.Fatalf("element %s for %s", el, f.event)
		}
		r.item = v
	}
	return r
}

func decodeWS(t *testing.T, nc map[string]json.RawMessage) received {
	t.Helper()
	r := received{typ: wsType(t, nc)}
	var items []map[string]any
	if err := json.Unmarshal(nc[Element(r.typ)], &items); err != nil || len(items) != 1 || string(nc["size"]) != "1" {
		t.Fatalf("frame %v: %v", nc, err)
	}
	r.item = items[0]
	return r
}

// checkScan checks a scan of n items as a client sees it: the activity
// starts, every item is created then processed, progress only grows, and
// the activity ends at 100.
func checkScan(t *testing.T, got []received, n int) {
	t.Helper()
	if got[0].typ != "activity" || got[0].item["event"] != "started" {
		t.Fatalf("first: %+v", got[0])
	}
	last := got[len(got)-1]
	if last.typ != "activity" || last.item["event"] != "ended" || last.item["Activity"].(map[string]any)["progress"] != 100.0 {
		t.Fatalf("last: %+v", last)
	}
	seen := map[string]int{} // timeline entries per item
	progress := 0.0
	for _, r := range got[1 : len(got)-1] {
		switch r.typ {
		case "timeline":
			id := r.item["itemID"].(string)
			n := seen[id]
			if n > 1 || r.item["state"] != []float64{timelineCreated, timelineProcessed}[n] {
				t.Fatalf("item %s entry %d: state %v", id, n, r.item["state"])
			}
			seen[id]++
		case "activity":
			p := r.item["Activity"].(map[string]any)["progress"].(float64)
			if r.item["event"] != "updated" || p < progress {
				t.Fatalf("activity %+v after progress %v", r.item, progress)
			}
			progress = p
		default:
			t.Fatalf("unexpected %s", r.typ)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d items, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 2 {
			t.Fatalf("item %s: %d timeline entries, want created and processed", id, c)
		}
	}
}

func TestSimulateScanOverBothTransports(t *testing.T) {
	e := newEnv(t, Config{})
	_, frames := e.sse("", "X-Plex-Token: "+e.token)
	ws := e.dial("/:/websockets/notifications", http.Header{"X-Plex-Token": {e.token}})
	var res SimulateResponse
	if s := e.post("/v1/plex/simulate/scan", e.admin, `{"section":"Films","sectionID":"3","items":250}`, &res); s != 200 {
		t.Fatalf("status %d", s)
	}
	if res.Events != int(res.Last-res.First+1) || res.Activity == "" {
		t.Fatalf("response %+v", res)
	}
	var overSSE, overWS []received
	for range res.Events {
		r := decodeSSE(t, nextFrame(t, frames))
		if r.seq != res.First+uint64(len(overSSE)) {
			t.Fatalf("SSE id %d out of order", r.seq)
		}
		overSSE = append(overSSE, r)
		_, nc := readWS(t, ws)
		overWS = append(overWS, decodeWS(t, nc))
	}
	checkScan(t, overSSE, 250)
	checkScan(t, overWS, 250)
	if overSSE[1].item["sectionID"] != "3" || overSSE[1].item["title"] != "Films 1" {
		t.Fatalf("first item %+v", overSSE[1].item)
	}
}

func TestSimulatePlay(t *testing.T) {
	e := newEnv(t, Config{})
	ws := e.dial("/:/websocket/notifications?filters=", http.Header{"X-Plex-Token": {e.token}})
	var res SimulateResponse
	if s := e.post("/v1/plex/simulate/play", e.admin, `{"title":"Arrival","duration":"1m","updates":6,"pause":true}`, &res); s != 200 {
		t.Fatalf("status %d", s)
	}
	if res.RatingKey != ratingKeyFor("Arrival") || res.SessionKey != "1" {
		t.Fatalf("response %+v", res)
	}
	var types, states []string
	var offsets []float64
	for range res.Events {
		_, nc := readWS(t, ws)
		r := decodeWS(t, nc)
		types = append(types, r.typ)
		if r.typ == "playing" {
			states = append(states, r.item["state"].(string))
			offsets = append(offsets, r.item["viewOffset"].(float64))
			if r.item["ratingKey"] != res.RatingKey || r.item["key"] != "/library/metadata/"+res.RatingKey {
				t.Fatalf("playing %+v", r.item)
			}
		}
	}
	if types[0] != "transcodeSession.start" || types[len(types)-1] != "transcodeSession.end" {
		t.Fatalf("types %v", types)
	}
	want := []string{"buffering", "playing", "playing", "playing", "playing", "paused", "playing", "playing", "stopped"}
	if len(states) != len(want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("states %v, want %v", states, want)
		}
		if i > 0 && offsets[i] < offsets[i-1] {
			t.Fatalf("viewOffset goes back: %v", offsets)
		}
	}
	if offsets[len(offsets)-1] != 60000 {
		t.Fatalf("stopped at %v, want 60000", offsets[len(offsets)-1])
	}
}

func TestSimulatePreference(t *testing.T) {
	e := newEnv(t, Config{})
	_, frames := e.sse("filters=preference", "X-Plex-Token: "+e.token)
	var res SimulateResponse
	if s := e.post("/v1/plex/simulate/preference", e.admin, `{"id":"LanNetworksBandwidth","type":"bool","value":"true","default":"false"}`, &res); s != 200 || res.Events != 1 {
		t.Fatalf("status %d %+v", s, res)
	}
	r := decodeSSE(t, nextFrame(t, frames))
	if r.typ != "preference" || r.item["id"] != "LanNetworksBandwidth" || r.item["value"] != true || r.item["default"] != false || r.item["group"] != "general" {
		t.Fatalf("%+v", r)
	}
}

func TestAdminEndpoints(t *testing.T) {
	e := newEnv(t, Config{})
	native := e.core.Key(t, auth.Spec{Name: "n", Publish: []string{">"}, Subscribe: []string{">"}})
	tests := []struct {
		name, path, key, body string
		status                int
	}{
		{"no key", "/v1/plex/simulate/scan", "", `{}`, 401},
		{"bad key", "/v1/plex/simulate/scan", "hk_0000000000000000_x", `{}`, 401},
		{"plex token", "/v1/plex/simulate/scan", e.token, `{}`, 403},
		{"native key", "/v1/plex/tokens", native, `{}`, 403},
		{"unknown field", "/v1/plex/simulate/scan", e.admin, `{"item":3}`, 400},
		{"too many items", "/v1/plex/simulate/scan", e.admin, `{"items":100001}`, 400},
		{"bad kind", "/v1/plex/simulate/scan", e.admin, `{"kind":"photo"}`, 400},
		{"interval too long", "/v1/plex/simulate/scan", e.admin, `{"interval":"2m"}`, 400},
		{"bad duration", "/v1/plex/simulate/play", e.admin, `{"duration":"ninety"}`, 400},
		{"duration as number", "/v1/plex/simulate/play", e.admin, `{"duration":5400000}`, 400},
		{"negative updates", "/v1/plex/simulate/play", e.admin, `{"updates":-1}`, 400},
		{"no id", "/v1/plex/simulate/preference", e.admin, `{"value":"x"}`, 400},
		{"bad bool", "/v1/plex/simulate/preference", e.admin, `{"id":"x","type":"bool","value":"maybe"}`, 400},
		{"bad type", "/v1/plex/simulate/preference", e.admin, `{"id":"x","type":"color","value":"red"}`, 400},
		{"two bodies", "/v1/plex/tokens", e.admin, `{} {}`, 400},
		{"empty body is defaults", "/v1/plex/simulate/play", e.admin, ``, 200},
		{"scan defaults", "/v1/plex/simulate/scan", e.admin, `{"items":3,"kind":"artist"}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body struct {
				Error struct{ Code, Message string }
			}
			out := any(&body)
			if tt.status == 200 {
				out = nil
			}
			if s := e.post(tt.path, tt.key, tt.body, out); s != tt.status {
				t.Fatalf("status %d, want %d (%+v)", s, tt.status, body)
			}
			if tt.status != 200 && body.Error.Code == "" {
				t.Fatal("no error code")
			}
		})
	}
}

func TestCreateToken(t *testing.T) {
	e := newEnv(t, Config{})
	var res TokenResponse
	if s := e.post("/v1/plex/tokens", e.admin, `{"name":"tautulli"}`, &res); s != 201 {
		t.Fatalf("status %d", s)
	}
	if res.Dialect != Dialect || res.Name != "tautulli" || len(res.Subscribe) != 1 || res.Subscribe[0] != "plex.>" || len(res.Publish) != 0 || res.Admin {
		t.Fatalf("key %+v", res.Key)
	}
	ws := e.dial("/:/websockets/notifications", http.Header{"X-Plex-Token": {res.Token}})
	e.publish("playing")
	if _, nc := readWS(t, ws); wsType(t, nc) != "playing" {
		t.Fatal("token does not read")
	}
	if s := e.post("/v1/plex/simulate/scan", res.Token, `{}`, nil); s != 403 {
		t.Fatalf("plex token on admin endpoint: %d", s)
	}
}

func TestPublishSteps(t *testing.T) {
	steps := make([][]eventlog.Draft, 2500)
	for i := range steps {
		steps[i] = []eventlog.Draft{{Topic: "plex.a"}}
	}
	steps[3] = append(steps[3], eventlog.Draft{Topic: "plex.b"}) // 2501 drafts
	var calls []int
	record := func(ds []eventlog.Draft) error { calls = append(calls, len(ds)); return nil }

	if err := publishSteps(context.Background(), steps, 0, record); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || calls[0] != 1000 || calls[1] != 1000 || calls[2] != 501 {
		t.Fatalf("batched calls %v", calls)
	}

	calls = nil
	if err := publishSteps(context.Background(), steps[:5], time.Nanosecond, record); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 5 || calls[3] != 2 {
		t.Fatalf("paced calls %v, want one per step", calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = nil
	if err := publishSteps(ctx, steps[:5], time.Hour, record); !errors.Is(err, context.Canceled) || len(calls) != 1 {
		t.Fatalf("cancelled: %v after %v", err, calls)
	}

	boom := errors.New("boom")
	if err := publishSteps(context.Background(), steps, 0, func([]eventlog.Draft) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("append error: %v", err)
	}
}
