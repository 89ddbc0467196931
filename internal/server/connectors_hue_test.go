package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// A hue connector between two heralds: the upstream has simulated devices
// and stands for a bridge; the downstream mirrors it.

// huePair pairs an application with h's Hue dialect (the link button
// pressed through the admin API) and returns its key.
func (h *hop) huePair() string {
	h.t.Helper()
	h.admin("POST", "/v1/hue/link", `{}`, nil)
	var pair []struct{ Success struct{ Username string } }
	st, _, b := request(h.t, nil, "POST", h.URL()+"/api", nil, `{"devicetype":"herald#connector"}`, &pair)
	if st != 200 || len(pair) != 1 || pair[0].Success.Username == "" {
		h.t.Fatalf("pairing: %d %s", st, b)
	}
	return pair[0].Success.Username
}

// hueDevice adds a simulated product upstream and returns its first
// service of rtype.
func (h *hop) hueDevice(product, name, rtype string) string {
	h.t.Helper()
	var out struct{ Data []struct{ RID, RType string } }
	h.admin("POST", "/v1/hue/devices", `{"product":"`+product+`","name":"`+name+`"}`, &out)
	for _, s := range out.Data {
		if s.RType == rtype {
			return s.RID
		}
	}
	h.t.Fatalf("%s has no %s: %+v", product, rtype, out)
	return ""
}

// hueCall is a CLIP request with an application key; it returns the
// status and the answer's data.
func (h *hop) hueCall(key, method, path, body string) (int, []map[string]any) {
	h.t.Helper()
	var env struct{ Data []map[string]any }
	st, _, b := request(h.t, nil, method, h.URL()+path, http.Header{"hue-application-key": {key}}, body, nil)
	if st == 200 {
		if err := json.Unmarshal(b, &env); err != nil {
			h.t.Fatalf("%s %s: %s: %v", method, path, b, err)
		}
	}
	return st, env.Data
}

// hueResources returns every resource h serves, by "type/id".
func (h *hop) hueResources(key string) map[string]map[string]any {
	h.t.Helper()
	st, data := h.hueCall(key, "GET", "/clip/v2/resource", "")
	if st != 200 {
		h.t.Fatalf("GET /clip/v2/resource: %d", st)
	}
	out := map[string]map[string]any{}
	for _, o := range data {
		out[fmt.Sprint(o["type"], "/", o["id"])] = o
	}
	return out
}

// hueBrightness is a light's brightness as h serves it (-1: not served).
func (h *hop) hueBrightness(key, light string) float64 {
	h.t.Helper()
	st, data := h.hueCall(key, "GET", "/clip/v2/resource/light/"+light, "")
	if st != 200 || len(data) != 1 {
		return -1
	}
	d, _ := data[0]["dimming"].(map[string]any)
	b, _ := d["brightness"].(float64)
	return b
}

// hueBridgeID is the bridge id h's public config answers.
func (h *hop) hueBridgeID() string {
	h.t.Helper()
	var cfg struct{ BridgeID string }
	request(h.t, nil, "GET", h.URL()+"/api/config", nil, "", &cfg)
	return cfg.BridgeID
}

// hueEvent is one data item of a Hue event stream message.
type hueEvent struct {
	MsgID, Type string // the message's SSE id, the Hue event's type
	Item        map[string]any
}

// hueStream opens h's Hue event stream with an application key and
// returns its items as they come; it closes when the stream ends.
func (h *hop) hueStream(key string) <-chan hueEvent {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", h.URL()+"/eventstream/clip/v2", nil)
	req.Header.Set("hue-application-key", key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		resp.Body.Close()
		h.t.Fatalf("event stream: %d", resp.StatusCode)
	}
	out := make(chan hueEvent, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		readSSE(resp.Body, func(ev sseEvent) error {
			var msgs []struct {
				Type string
				Data []map[string]any
			}
			if err := json.Unmarshal(ev.Data, &msgs); err != nil {
				return err
			}
			for _, m := range msgs {
				for _, it := range m.Data {
					out <- hueEvent{MsgID: ev.ID, Type: m.Type, Item: it}
				}
			}
			return nil
		})
	}()
	h.t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	return out
}

// nextHue returns the next stream item that keep accepts, failing if none
// comes within 30 s.
func nextHue(t *testing.T, evs <-chan hueEvent, keep func(hueEvent) bool) hueEvent {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-evs:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if keep(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("no such event within 30s")
		}
	}
}

// buttonReport is a button item's report event ("" if none).
func buttonReport(it map[string]any) string {
	b, _ := it["button"].(map[string]any)
	r, _ := b["button_report"].(map[string]any)
	s, _ := r["event"].(string)
	return s
}

// huePairUp is an upstream with a switch and a lamp and a downstream with
// a hue connector "home" to it, connected.
type huePair struct {
	up, down      *hop
	upKey         string // an application paired with the upstream
	button, light string
}

func startHuePair(t *testing.T, down *hop) *huePair {
	if down == nil {
		down = startHop(t)
	}
	p := &huePair{up: startHop(t), down: down}
	p.button = p.up.hueDevice("dimmer_switch", "Hall", "button")
	p.light = p.up.hueDevice("color_lamp", "Desk", "light")
	p.upKey = p.up.huePair()
	p.down.admin("POST", "/v1/connectors", `{"name":"home","kind":"hue","url":"`+p.up.URL()+`","key":"`+p.upKey+`"}`, nil)
	waitConnected(t, p.down, "home", 0)
	return p
}

// A downstream herald with a hue connector serves the upstream's bridge:
// its id, its resources as the upstream has them, its events; a write
// through the downstream changes the upstream; the connector's state and
// metrics say so.
func TestHueConnector(t *testing.T) {
	p := startHuePair(t, nil)
	up, down := p.up, p.down
	downKey := down.huePair()

	if id := down.hueBridgeID(); id == "" || id != up.hueBridgeID() {
		t.Fatalf("downstream bridge id %q, upstream's %q", id, up.hueBridgeID())
	}
	upRes, downRes := up.hueResources(p.upKey), down.hueResources(downKey)
	if len(upRes) == 0 || !reflect.DeepEqual(upRes, downRes) {
		t.Fatalf("downstream resources differ from the upstream's\nupstream %d: %v\ndownstream %d: %v", len(upRes), upRes, len(downRes), downRes)
	}

	// A press upstream arrives on the downstream's event stream.
	evs := down.hueStream(downKey)
	up.admin("POST", "/v1/hue/press", `{"button":"`+p.button+`"}`, nil)
	for _, want := range []string{"initial_press", "short_release"} {
		ev := nextHue(t, evs, func(ev hueEvent) bool { return ev.Item["id"] == p.button && buttonReport(ev.Item) != "" })
		if got := buttonReport(ev.Item); got != want || ev.Type != "update" {
			t.Fatalf("downstream stream: %s %s, want update %s", ev.Type, got, want)
		}
	}

	// A light PUT through the downstream changes the upstream's light, and
	// the downstream answers with it already.
	if st, data := down.hueCall(downKey, "PUT", "/clip/v2/resource/light/"+p.light, `{"on":{"on":true},"dimming":{"brightness":42}}`); st != 200 || len(data) != 1 {
		t.Fatalf("PUT through the downstream: %d %v", st, data)
	}
	if b := up.hueBrightness(p.upKey, p.light); b != 42 {
		t.Fatalf("upstream brightness after the downstream's PUT: %v", b)
	}
	if b := down.hueBrightness(downKey, p.light); b != 42 {
		t.Fatalf("downstream brightness after its PUT: %v", b)
	}
	nextHue(t, evs, func(ev hueEvent) bool {
		d, _ := ev.Item["dimming"].(map[string]any)
		return ev.Item["id"] == p.light && d["brightness"] == 42.0
	})

	v := down.connector("home")
	if !v.State.Connected || v.State.Events == 0 || v.Node == "" || v.Node != down.Srv.NodeID() || v.Position == "" {
		t.Fatalf("connector view %+v", v)
	}
	dn := &node{Server: down.Srv, key: down.Admin}
	if got := dn.metric(t, `herald_connector_connected{connector="home",kind="hue"}`); got != "1" {
		t.Fatalf("herald_connector_connected: %q", got)
	}
	eventually(t, 10*time.Second, func() string {
		n, _ := strconv.ParseFloat(dn.metric(t, `herald_connector_events_ingested_total{connector="home",kind="hue"}`), 64)
		if v := down.connector("home"); n == 0 || uint64(n) != v.State.Events {
			return fmt.Sprintf("herald_connector_events_ingested_total %v, state %d", n, v.State.Events)
		}
		return ""
	})
	if got := dn.metric(t, `herald_connector_last_event_timestamp_seconds{connector="home",kind="hue"}`); got == "" || got == "0" {
		t.Fatalf("herald_connector_last_event_timestamp_seconds: %q", got)
	}
	if !strings.HasPrefix(v.URL, up.URL()) || !v.KeySet {
		t.Fatalf("connector view %+v", v)
	}
}

// On a cluster, the node that does not run the connector serves the
// mirror too: a light PUT it takes is forwarded by it to the upstream and
// answered with the change; the connector runs on one node only.
func TestHueConnectorAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	up := startHop(t)
	light := up.hueDevice("color_lamp", "Desk", "light")
	upKey := up.huePair()
	c := startCluster(t)
	nodes := []*node{startNode(t, c.URLs()), startNode(t, c.URLs())}
	hops := make([]*hop, len(nodes))
	for i, n := range nodes {
		hops[i] = &hop{t: t, Server: &servertest.Server{T: t, Srv: n.Server, Admin: n.key,
			Cfg: server.Config{HTTPAddr: strings.TrimPrefix(n.URL, "http://")}}}
	}
	hops[0].admin("POST", "/v1/connectors", `{"name":"home","kind":"hue","url":"`+up.URL()+`","key":"`+upKey+`"}`, nil)
	var runner string
	eventually(t, 30*time.Second, func() string {
		v := hops[1].connector("home")
		if !v.State.Connected || v.Node == "" {
			return fmt.Sprintf("not connected: %+v", v)
		}
		runner = v.Node
		return ""
	})
	downKey := hops[0].huePair() // one pairing, known to every node
	for i, h := range hops {
		b := float64(20 + i)
		if st, _ := h.hueCall(downKey, "PUT", "/clip/v2/resource/light/"+light, fmt.Sprintf(`{"dimming":{"brightness":%v}}`, b)); st != 200 {
			t.Fatalf("PUT through node %d: %d", i, st)
		}
		if got := up.hueBrightness(upKey, light); got != b {
			t.Fatalf("upstream brightness after node %d's PUT: %v, want %v", i, got, b)
		}
		// The write waits for its echo at most EchoWait (2 s); on a loaded
		// cluster the echo, which comes back through the node running the
		// connector, can take longer, and the node's state has it then.
		eventually(t, 20*time.Second, func() string {
			if got := h.hueBrightness(downKey, light); got != b {
				return fmt.Sprintf("node %d's brightness after its PUT: %v, want %v", i, got, b)
			}
			return ""
		})
		running := nodes[i].NodeID() == runner
		want := map[bool]string{true: "1", false: ""}[running]
		if got := nodes[i].metric(t, `herald_connector_connected{connector="home",kind="hue"}`); got != want {
			t.Fatalf("node %d (running it: %v): herald_connector_connected %q", i, running, got)
		}
	}
}

// Removing the connector ends the mirror on every node: a client on the
// event stream sees each of the upstream's resources deleted and herald's
// own bridge come back; the public config names herald's own bridge again,
// the simulator is on again, and the upstream's changes no longer arrive.
func TestHueConnectorRemoved(t *testing.T) {
	p := startHuePair(t, nil)
	up, down := p.up, p.down
	downKey := down.huePair()
	own := down.hueBridgeID() // the upstream's while mirrored
	mirrored := down.hueResources(downKey)
	evs := down.hueStream(downKey)

	st, _, b := request(t, nil, "DELETE", down.URL()+"/v1/connectors/home", http.Header{"Authorization": {"Bearer " + down.Admin}}, "", nil)
	if st != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", st, b)
	}
	gone := map[string]bool{}
	for len(gone) < len(mirrored) {
		ev := nextHue(t, evs, func(ev hueEvent) bool { return ev.Type == "delete" })
		k := fmt.Sprint(ev.Item["type"], "/", ev.Item["id"])
		if mirrored[k] == nil || gone[k] {
			t.Fatalf("delete event for %s: not one of the mirrored resources, or twice", k)
		}
		gone[k] = true
	}
	bridge := nextHue(t, evs, func(ev hueEvent) bool { return ev.Type == "add" && ev.Item["type"] == "bridge" })
	eventually(t, 10*time.Second, func() string {
		if id := down.hueBridgeID(); id == own || !strings.EqualFold(id, fmt.Sprint(bridge.Item["bridge_id"])) {
			return fmt.Sprintf("bridge id %q after the removal; the mirrored one was %q, herald's own bridge resource says %v", id, own, bridge.Item["bridge_id"])
		}
		return ""
	})
	res := down.hueResources(downKey)
	for k := range res {
		if mirrored[k] != nil {
			t.Fatalf("%s is still served after the removal", k)
		}
	}
	if res[fmt.Sprint("bridge/", bridge.Item["id"])] == nil {
		t.Fatalf("herald's own bridge is not served: %v", res)
	}
	// The simulator is on again; the upstream is not followed any more.
	lamp := down.hueDevice("color_lamp", "Own", "light")
	up.admin("POST", "/v1/hue/press", `{"button":"`+p.button+`"}`, nil)
	if st, _ := down.hueCall(downKey, "PUT", "/clip/v2/resource/light/"+lamp, `{"dimming":{"brightness":7}}`); st != 200 {
		t.Fatalf("PUT to herald's own light: %d", st)
	}
	nextHue(t, evs, func(ev hueEvent) bool {
		if ev.Item["id"] == p.button {
			t.Fatalf("the upstream's press arrived after the removal: %v", ev.Item)
		}
		return ev.Type == "update" && ev.Item["id"] == lamp
	})
	if st, _ := down.hueCall(downKey, "GET", "/clip/v2/resource/button/"+p.button, ""); st != http.StatusNotFound {
		t.Fatalf("the upstream's button after the removal: %d", st)
	}
}

// One herald is one bridge: a second hue connector is refused while the
// first is defined, and accepted once it is removed.
func TestHueConnectorOnlyOne(t *testing.T) {
	p := startHuePair(t, nil)
	body := `{"name":"other","kind":"hue","url":"` + p.up.URL() + `","key":"` + p.upKey + `"}`
	hdr := http.Header{"Authorization": {"Bearer " + p.down.Admin}, "Content-Type": {"application/json"}}
	st, _, b := request(t, nil, "POST", p.down.URL()+"/v1/connectors", hdr, body, nil)
	if st != http.StatusConflict || !strings.Contains(string(b), `connector \"home\" is the hue connector`) {
		t.Fatalf("a second hue connector: %d %s", st, b)
	}
	// Replacing the first is no second one.
	p.down.admin("POST", "/v1/connectors", `{"name":"home","kind":"hue","url":"`+p.up.URL()+`"}`, nil)
	p.down.admin("DELETE", "/v1/connectors/home", "", nil)
	p.down.admin("POST", "/v1/connectors", body, nil)
	waitConnected(t, p.down, "other", 0)
	if id := p.down.hueBridgeID(); id != p.up.hueBridgeID() {
		t.Fatalf("bridge id %q through the second connector, upstream's %q", id, p.up.hueBridgeID())
	}
}
