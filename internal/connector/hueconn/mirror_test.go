package hueconn_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/connector/hueconn"
	"github.com/herald-io/herald/internal/dialect/hue"
	"github.com/herald-io/herald/internal/eventlog"
)

func authAdmin() auth.Spec { return auth.Spec{Name: "admin", Admin: true} }

// mirrored starts an upstream with a switch and a lamp and a downstream
// mirroring it, connected.
func mirrored(t *testing.T) (*upstream, *downstream, string, string) {
	up := newUpstream(t)
	button := up.device("dimmer_switch", "Hall", "button")
	light := up.device("color_lamp", "Desk", "light")
	down := newDownstream(t, connector.Spec{Name: "home", Kind: "hue", URL: up.url(), Key: up.key})
	down.start()
	eventually(t, "connected", func() bool { return down.rep.connections() == 1 })
	return up, down, button, light
}

// barrier makes one more upstream change and waits until the downstream
// has it: everything the upstream sent before it has arrived too.
func barrier(t *testing.T, up *upstream, down *downstream, light string, b float64) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"dimming": map[string]any{"brightness": b}})
	if r := up.hue("PUT", "/clip/v2/resource/light/"+light, string(body)); r.status != 200 {
		t.Fatalf("upstream PUT: %d %s", r.status, r.body)
	}
	eventually(t, "the barrier arrives", func() bool { return brightness(down.resource("light", light)) == b })
}

func TestMirrorServesTheUpstreamsBridge(t *testing.T) {
	up, down, button, light := mirrored(t)

	var upCfg, downCfg struct{ BridgeID, Name string }
	json.Unmarshal(do(t, http.DefaultClient, "GET", up.url()+"/api/config", "").body, &upCfg)
	json.Unmarshal(down.hue("GET", "/api/config", "").body, &downCfg)
	if downCfg.BridgeID == "" || downCfg != upCfg {
		t.Fatalf("downstream config %+v, upstream %+v", downCfg, upCfg)
	}
	// Every resource is the upstream's, and only those.
	var upAll, downAll struct{ Data []map[string]any }
	json.Unmarshal(up.hue("GET", "/clip/v2/resource", "").body, &upAll)
	json.Unmarshal(down.hue("GET", "/clip/v2/resource", "").body, &downAll)
	ids := func(list []map[string]any) map[string]bool {
		m := map[string]bool{}
		for _, o := range list {
			m[o["type"].(string)+"/"+o["id"].(string)] = true
		}
		return m
	}
	u, d := ids(upAll.Data), ids(downAll.Data)
	if len(u) == 0 || len(u) != len(d) {
		t.Fatalf("upstream has %d resources, downstream %d", len(u), len(d))
	}
	for k := range u {
		if !d[k] {
			t.Fatalf("downstream lacks %s", k)
		}
	}
	if down.resource("button", button) == nil || down.resource("light", light) == nil {
		t.Fatal("the upstream's devices are not served")
	}
	// The simulator is off on a mirror, and says why.
	admin := down.core.Key(t, authAdmin())
	r := do(t, down.srv.Client(), "POST", down.srv.URL+"/v1/hue/press", `{"button":"`+button+`"}`, "Authorization: Bearer "+admin)
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "mirrors a real bridge") {
		t.Fatalf("simulated press on a mirror: %d %s", r.status, r.body)
	}
}

func TestMirrorEventsArriveInOrderOnce(t *testing.T) {
	up, down, button, light := mirrored(t)
	up.admin("/v1/hue/press", `{"button":"`+button+`"}`)
	up.admin("/v1/hue/press", `{"button":"`+button+`","action":"long","repeats":2}`)
	barrier(t, up, down, light, 11)
	got := buttonEvents(down.events("hue.button." + button))
	want := buttonEvents(upEvents(t, up, button))
	if len(want) != 7 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("downstream button events\n%v\nupstream\n%v", got, want)
	}
}

// upEvents reads the upstream's own log of a button through its admin key.
func upEvents(t *testing.T, up *upstream, button string) []eventlog.Event {
	t.Helper()
	r := do(t, http.DefaultClient, "GET", up.url()+"/v1/events?after=0&topics=hue.button."+button+"&limit=1000", "", "Authorization: Bearer "+up.srv.Admin)
	var out struct{ Events []eventlog.Event }
	if err := json.Unmarshal(r.body, &out); err != nil || r.status != 200 {
		t.Fatalf("upstream events: %d %s", r.status, r.body)
	}
	return out.Events
}

func TestMirrorUpstreamRestartedDiffsTheGap(t *testing.T) {
	up, down, button, light := mirrored(t)
	up.admin("/v1/hue/press", `{"button":"`+button+`"}`)
	barrier(t, up, down, light, 12)
	before := len(down.events("hue.button." + button))

	gate := make(chan struct{})
	waiting := make(chan time.Duration, 16)
	down.kind.SetSleep(func(ctx context.Context, d time.Duration) error {
		waiting <- d
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	up.srv.Stop()
	<-waiting // the session ended; the connector waits for the test
	up.srv.Start()
	// Changes the downstream's stream never carries: made in the gap.
	up.hue("PUT", "/clip/v2/resource/light/"+light, `{"on":{"on":true},"dimming":{"brightness":33}}`)
	up.admin("/v1/hue/press", `{"button":"`+button+`"}`)
	close(gate)
	eventually(t, "reconnected", func() bool { return down.rep.connections() == 2 })
	if o := down.resource("light", light); brightness(o) != 33 {
		t.Fatalf("light after the gap: %v", o)
	}
	barrier(t, up, down, light, 13)
	evs := down.events("hue.button." + button)
	// The gap's presses arrive as one update, the button's state now.
	if len(evs) != before+1 || evs[len(evs)-1].Type != "update" {
		t.Fatalf("button events: %d before, %d after: %v", before, len(evs), buttonEvents(evs))
	}
	upLast := buttonEvents(upEvents(t, up, button))
	if got := buttonEvents(evs[len(evs)-1:]); got[0] != upLast[len(upLast)-1] {
		t.Fatalf("gap update %v, upstream's last %v", got, upLast[len(upLast)-1])
	}
}

func TestMirrorRestartedResumes(t *testing.T) {
	up, down, button, light := mirrored(t)
	up.admin("/v1/hue/press", `{"button":"`+button+`"}`)
	barrier(t, up, down, light, 14)
	if err := down.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
	pos := down.pos.get()
	if pos == "" {
		t.Fatal("no stored position")
	}
	before := len(down.events("hue.>"))
	up.hue("PUT", "/clip/v2/resource/light/"+light, `{"dimming":{"brightness":44}}`)
	down.start()
	eventually(t, "light after the restart", func() bool { return brightness(down.resource("light", light)) == 44 })
	barrier(t, up, down, light, 15)
	// One event for the gap's change (the light; the upstream's home
	// group follows it), one for the barrier, nothing replayed.
	after := down.events("hue.>")[before:]
	lights := 0
	for _, e := range after {
		if e.Topic == "hue.light."+light {
			lights++
		}
	}
	if lights != 2 {
		t.Fatalf("light events after the restart: %d of %d", lights, len(after))
	}
	if len(buttonEvents(after)) != 0 {
		t.Fatalf("button events replayed: %v", buttonEvents(after))
	}
	if down.pos.get() == pos {
		t.Fatal("position did not move")
	}
}

func TestMirrorWriteForwardedFoldsOnce(t *testing.T) {
	up, down, _, light := mirrored(t)
	before := len(down.events("hue.light." + light))
	r := down.hue("PUT", "/clip/v2/resource/light/"+light, `{"on":{"on":true},"dimming":{"brightness":61}}`)
	if r.status != 200 || !strings.Contains(string(r.body), light) {
		t.Fatalf("PUT through the mirror: %d %s", r.status, r.body)
	}
	// Read at once: the write waited for its echo.
	if o := down.resource("light", light); brightness(o) != 61 {
		t.Fatalf("downstream light right after the PUT: %v", o)
	}
	var env struct{ Data []map[string]any }
	json.Unmarshal(up.hue("GET", "/clip/v2/resource/light/"+light, "").body, &env)
	if len(env.Data) != 1 || brightness(env.Data[0]) != 61 {
		t.Fatalf("upstream light: %v", env.Data)
	}
	barrier(t, up, down, light, 62)
	if n := len(down.events("hue.light."+light)) - before; n != 2 {
		t.Fatalf("light events for the PUT and the barrier: %d, want 2", n)
	}
	// The bridge's refusals are answered as the bridge gave them.
	r = down.hue("PUT", "/clip/v2/resource/light/"+light, `{"dimming":{"brightness":400}}`)
	upR := up.hue("PUT", "/clip/v2/resource/light/"+light, `{"dimming":{"brightness":400}}`)
	if r.status != upR.status || string(r.body) != string(upR.body) {
		t.Fatalf("refused PUT: downstream %d %s, upstream %d %s", r.status, r.body, upR.status, upR.body)
	}
}

func TestMirrorWrongKeyStops(t *testing.T) {
	up := newUpstream(t)
	down := newDownstream(t, connector.Spec{Name: "home", Kind: "hue", URL: up.url(), Key: "not-a-key"})
	err := down.kind.Run(context.Background(), connector.Env{Core: down.core.Core, Spec: down.spec, Report: down.rep, Positions: down.pos})
	if !errors.Is(err, connector.ErrStopped) {
		t.Fatalf("Run with a wrong key: %v", err)
	}
	// 401 likewise, from a bridge that says so.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer srv.Close()
	down.spec.URL = srv.URL
	err = down.kind.Run(context.Background(), connector.Env{Core: down.core.Core, Spec: down.spec, Report: down.rep, Positions: down.pos})
	if !errors.Is(err, connector.ErrStopped) {
		t.Fatalf("Run on a 401: %v", err)
	}
}

func TestMirrorHonoursRetryAfter(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		switch n {
		case 1:
			w.Header().Set("Retry-After", "7")
			http.Error(w, "busy", http.StatusTooManyRequests)
		case 2:
			w.Header().Set("Retry-After", "3")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			http.Error(w, "no", http.StatusForbidden)
		}
	}))
	defer srv.Close()
	down := newDownstream(t, connector.Spec{Name: "home", Kind: "hue", URL: srv.URL, Key: "k"})
	var waits []time.Duration
	down.kind.SetSleep(func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	})
	err := down.kind.Run(context.Background(), connector.Env{Core: down.core.Core, Spec: down.spec, Report: down.rep, Positions: down.pos})
	if !errors.Is(err, connector.ErrStopped) {
		t.Fatalf("Run: %v", err)
	}
	if len(waits) != 2 || waits[0] != 7*time.Second || waits[1] != 3*time.Second {
		t.Fatalf("waits %v, want [7s 3s]", waits)
	}
	if down.rep.reconnects() != 2 {
		t.Fatalf("reconnects: %d", down.rep.reconnects())
	}
}

func TestCheck(t *testing.T) {
	k := hueconn.New(nil)
	for _, tc := range []struct {
		spec connector.Spec
		ok   bool
	}{
		{connector.Spec{URL: "https://192.168.1.2", Key: "k"}, true},
		{connector.Spec{URL: "http://bridge.local/", Key: "k"}, true},
		{connector.Spec{URL: "ftp://bridge", Key: "k"}, false},
		{connector.Spec{URL: "https://192.168.1.2"}, false},
		{connector.Spec{URL: "192.168.1.2", Key: "k"}, false},
	} {
		if err := k.Check(tc.spec); (err == nil) != tc.ok {
			t.Errorf("Check(%+v) = %v", tc.spec, err)
		}
	}
}

// Ending a mirror on two nodes at once (a node that ran the connector and
// one that sweeps after it) deletes each of the upstream's resources once,
// brings herald's own bridge back once, and a third end does nothing.
func TestMirrorEndOnTwoNodes(t *testing.T) {
	up, down, button, _ := mirrored(t)
	if err := down.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
	other, err := hue.New(down.core.Core, hue.Config{BatchWindow: -1}) // a second node on the same engine
	if err != nil {
		t.Fatal(err)
	}
	if other.Mirroring() != "home" || down.api.Mirroring() != "home" {
		t.Fatalf("mirroring %q and %q", other.Mirroring(), down.api.Mirroring())
	}
	var upAll struct{ Data []map[string]any }
	json.Unmarshal(up.hue("GET", "/clip/v2/resource", "").body, &upAll)
	before := len(down.events("hue.>"))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, a := range []*hue.API{down.api, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.EndMirror(context.Background(), "home")
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("EndMirror: %v", errs)
	}
	count := func() (deletes, adds map[string]int) {
		deletes, adds = map[string]int{}, map[string]int{}
		for _, e := range down.events("hue.>")[before:] {
			switch e.Type {
			case "delete":
				deletes[e.Topic]++
			case "add":
				adds[e.Topic]++
			}
		}
		return deletes, adds
	}
	deletes, adds := count()
	if len(deletes) != len(upAll.Data) || deletes["hue.button."+button] != 1 {
		t.Fatalf("%d resources deleted (%v), the upstream has %d", len(deletes), deletes, len(upAll.Data))
	}
	for tp, n := range deletes {
		if n != 1 {
			t.Fatalf("%s deleted %d times", tp, n)
		}
	}
	var own string
	for tp, n := range adds {
		if n != 1 {
			t.Fatalf("%s added %d times", tp, n)
		}
		if strings.HasPrefix(tp, "hue.bridge.") {
			own = tp
		}
	}
	if own == "" {
		t.Fatalf("herald's own bridge is not added back: %v", adds)
	}
	eventually(t, "both nodes end the mirror", func() bool { return down.api.Mirroring() == "" && other.Mirroring() == "" })
	if down.api.BridgeID() == upAll.Data[0]["bridge_id"] {
		t.Fatal("the upstream's bridge id is still served")
	}
	n := len(down.events("hue.>"))
	if err := other.EndMirror(context.Background(), "home"); err != nil {
		t.Fatal(err)
	}
	if m := len(down.events("hue.>")); m != n {
		t.Fatalf("a third end appended %d events", m-n)
	}
}
