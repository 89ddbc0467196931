package hue

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestEndToEnd is issue 4's scenario over HTTP, read the way aiohue reads
// (aiohueStream): pair an app through the link button, load every
// resource, change a light and see it and its groups on the stream, press
// a button and see initial_press then short_release, then disconnect,
// miss two presses, and resume with Last-Event-ID: exactly the missed
// events arrive, none twice. A witness stream that never disconnects
// says what "exactly" is.
func TestEndToEnd(t *testing.T) {
	var skew atomic.Int64 // the bridge's clock runs ahead by this much
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	b := newBridge(t, Config{BatchWindow: DefaultBatchWindow, Now: clock})
	lamp := b.addDevice("color_lamp", "Desk")
	b.addDevice("smart_button", "Door")
	if r := b.hue("POST", "/clip/v2/resource/room", `{"metadata":{"name":"Study","archetype":"office"},"children":[{"rid":"`+lamp["device"][0]+`","rtype":"device"}]}`); r.status != 200 {
		t.Fatalf("room: %d %s", r.status, r.body)
	}

	// Pair: refused while the link button is not pressed (newBridge's
	// press is over), then a key.
	skew.Store(int64(DefaultLinkWindow + time.Second))
	app := *b
	if r := b.do("POST", "/api", `{"devicetype":"e2e#phone","generateclientkey":true}`); string(r.body) != `[{"error":{"type":101,"address":"","description":"link button not pressed"}}]`+"\n" {
		t.Fatalf("pairing before the link button: %s", r.body)
	}
	app.app = b.pair()
	if app.app == b.app {
		t.Fatal("the same key twice")
	}

	// Load everything, as aiohue does on start.
	all := byType(app.resources(""))
	for _, rtype := range []string{"bridge", "bridge_home", "device", "light", "grouped_light", "room", "button", "zigbee_connectivity"} {
		if len(all[rtype]) == 0 {
			t.Fatalf("GET /clip/v2/resource: no %s in %v", rtype, all)
		}
	}
	if n := len(all["grouped_light"]); n != 2 {
		t.Fatalf("%d grouped lights, want the home's and the room's", n)
	}

	witnessCtx, stopWitness := context.WithCancel(t.Context())
	defer stopWitness()
	witness := app.aiohueStream(witnessCtx)
	ctx, disconnect := context.WithCancel(t.Context())
	stream := app.aiohueStream(ctx)

	// A light change: the light, then its room's and the home's groups.
	if r := app.hue("PUT", "/clip/v2/resource/light/"+lamp["light"][0], `{"on":{"on":true},"dimming":{"brightness":60}}`); r.status != 200 {
		t.Fatalf("PUT light: %d %s", r.status, r.body)
	}
	items, _ := collect(t, stream, 3)
	owners := []string{str(sub(items[1], "owner"), "rtype"), str(sub(items[2], "owner"), "rtype")}
	slices.Sort(owners)
	if items[0]["type"] != "light" || sub(items[0], "on")["on"] != true || items[1]["type"] != "grouped_light" ||
		items[2]["type"] != "grouped_light" || !slices.Equal(owners, []string{"bridge_home", "room"}) {
		t.Fatalf("light change: %v", items)
	}

	// A press: initial_press, then short_release.
	b.adminDo("/v1/hue/press", `{"button":"Door"}`)
	items, msgs := collect(t, stream, 2)
	if got := buttonEvents(items); got != "initial_press,short_release" {
		t.Fatalf("press: %s", got)
	}
	last := msgs[len(msgs)-1].id

	// Disconnect; two presses happen meanwhile.
	disconnect()
	for range stream {
	}
	b.adminDo("/v1/hue/press", `{"button":"Door"}`)
	b.adminDo("/v1/hue/press", `{"button":"Door","action":"double"}`)

	// Resume: the two missed presses, then (live) a third, and nothing
	// else in between — no event twice, none missing.
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	resumed := app.aiohueStream(ctx2, "Last-Event-ID: "+last)
	_, missed := collect(t, resumed, 6)
	b.adminDo("/v1/hue/press", `{"button":"Door"}`)
	_, live := collect(t, resumed, 2)
	got := flatten(append(missed, live...))

	_, seen := collect(t, witness, 3+2+6+2)
	want := flatten(seen)[5:] // after the light change and the first press
	if len(got) != len(want) {
		t.Fatalf("resumed %d events, the witness %d after the disconnect", len(got), len(want))
	}
	var kinds []string
	for i := range got {
		if got[i].ID != want[i].ID || !jsonEqual(got[i].Data, want[i].Data) {
			t.Fatalf("event %d: resumed %+v, witness %+v", i, got[i], want[i])
		}
		kinds = append(kinds, buttonEvents(got[i].Data))
	}
	if k := strings.Join(kinds, ","); k != "initial_press,short_release,initial_press,short_release,initial_press,double_short_release,initial_press,short_release" {
		t.Fatalf("resumed: %s", k)
	}
	// Ids grow from the resume point on.
	prev := last
	for _, m := range append(missed, live...) {
		_, p, _ := parseEventID(prev)
		if _, s, err := parseEventID(m.id); err != nil || s <= p {
			t.Fatalf("id %q after %q", m.id, prev)
		}
		prev = m.id
	}
}

// buttonEvents lists the button_report events of items.
func buttonEvents(items []object) string {
	var out []string
	for _, it := range items {
		out = append(out, str(sub(sub(it, "button"), "button_report"), "event"))
	}
	return strings.Join(out, ",")
}
