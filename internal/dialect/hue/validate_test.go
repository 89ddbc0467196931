package hue

import (
	"context"
	"encoding/json"
	"testing"
)

func TestBadBodiesChangeNothing(t *testing.T) {
	b := newBridge(t, Config{})
	lamp := b.addDevice("white_ambiance", "Lamp")
	sw := b.addDevice("dimmer_switch", "Switch")
	light, button, device := lamp["light"][0], sw["button"][0], sw["device"][0]
	for _, tc := range []struct{ rtype, id, body string }{
		{"light", light, ``},
		{"light", light, `not json`},
		{"light", light, `[]`},
		{"light", light, `{"on":{"on":true}} {}`},
		{"light", light, `{"on":true}`},
		{"light", light, `{"on":{"on":"yes"}}`},
		{"light", light, `{"on":{}}`},
		{"light", light, `{"on":{"on":true},"on":{"on":false}}`},
		{"light", light, `{"dimming":{"brightness":101}}`},
		{"light", light, `{"dimming":{"brightness":-1}}`},
		{"light", light, `{"color_temperature":{"mirek":100}}`},
		{"light", light, `{"color_temperature":{"mirek":300.5}}`},
		{"light", light, `{"color":{"xy":{"x":0.3,"y":0.3}}}`}, // an ambiance bulb has no colour
		{"light", light, `{"dimming_delta":{"action":"sideways"}}`},
		{"light", light, `{"alert":{"action":"dance"}}`},
		{"light", light, `{"id":"x"}`},
		{"light", light, `{"type":"button"}`},
		{"light", light, `{"metadata":{"name":""}}`},
		{"light", light, `{"metadata":{"name":"123456789012345678901234567890123"}}`},
		{"light", light, `{"on":{"on":true},"dimming":{"brightness":1e999}}`},
		{"button", button, `{"metadata":{"control_id":9}}`},
		{"button", button, `{"button":{"repeat_interval":-5}}`},
		{"button", button, `{"button":{"last_event":"short_release"}}`},
		{"device", device, `{"metadata":{"archetype":"Not An Archetype"}}`},
		{"device", device, `{"identify":{"action":"dance"}}`},
	} {
		t.Run(tc.rtype+" "+tc.body, func(t *testing.T) {
			before := b.hue("GET", "/clip/v2/resource/"+tc.rtype+"/"+tc.id, "")
			_, last, _ := b.core.Log.Bounds(context.Background())
			r := b.hue("PUT", "/clip/v2/resource/"+tc.rtype+"/"+tc.id, tc.body)
			var env envelope
			r.decode(t, &env)
			if r.status != 400 || len(env.Errors) != 1 || env.Errors[0].Description == "" || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s", r.status, r.body)
			}
			after := b.hue("GET", "/clip/v2/resource/"+tc.rtype+"/"+tc.id, "")
			if string(before.body) != string(after.body) {
				t.Fatalf("state changed:\n%s\n%s", before.body, after.body)
			}
			if _, now, _ := b.core.Log.Bounds(context.Background()); now != last {
				t.Fatalf("events appended: %d -> %d", last, now)
			}
		})
	}
	// Read-only types and unknown ids.
	if r := b.hue("PUT", "/clip/v2/resource/bridge_home/"+b.api.bridge.Home, `{}`); r.status != 405 {
		t.Fatalf("bridge_home PUT: %d", r.status)
	}
	if r := b.hue("PUT", "/clip/v2/resource/light/00000000-0000-4000-8000-000000000000", `{}`); r.status != 404 {
		t.Fatalf("unknown light PUT: %d", r.status)
	}
	if r := b.hue("DELETE", "/clip/v2/resource/device/"+b.api.bridge.Device, ``); r.status != 405 {
		t.Fatalf("bridge device DELETE: %d", r.status)
	}
}

func TestValidatePut(t *testing.T) {
	cur := newLight(product{Light: "color", Archetype: "sultan_bulb"}, "x", "/lights/1")
	cur = normalize(cur).(object)
	for body, want := range map[string]string{
		`{"on":{"on":true}}`:                                        `{"on":{"on":true}}`,
		`{"dimming":{"brightness":0}}`:                              `{"dimming":{"brightness":0.2}}`,
		`{"dimming_delta":{"action":"down","brightness_delta":30}}`: `{"dimming":{"brightness":70}}`,
		`{"color_temperature":{"mirek":250}}`:                       `{"color_temperature":{"mirek":250,"mirek_valid":true}}`,
		`{"type":"light","alert":{"action":"breathe"}}`:             `{}`,
		`{"effects":{"effect":"candle"}}`:                           `{"effects":{"status":"candle"}}`,
		`{"dynamics":{"duration":400,"speed":0.5}}`:                 `{"dynamics":{"speed":0.5}}`,
	} {
		p, err := validatePut("light", cur, []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		got, _ := json.Marshal(p)
		if string(got) != want {
			t.Errorf("%s: got %s want %s", body, got, want)
		}
	}
}

func TestGeofenceClientAndRooms(t *testing.T) {
	b := newBridge(t, Config{})
	lamp := b.addDevice("color_lamp", "Lamp")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stream := b.aiohueStream(ctx)
	// aiohue's keep-alive: create, then update, a geofence_client.
	r := b.hue("POST", "/clip/v2/resource/geofence_client", `{"type":"geofence_client","name":"aiohue_abcdefghij","is_at_home":false}`)
	var env struct{ Data []ref }
	r.decode(t, &env)
	if r.status != 200 || len(env.Data) != 1 || env.Data[0].RType != "geofence_client" {
		t.Fatalf("POST geofence_client: %d %s", r.status, r.body)
	}
	gc := env.Data[0].RID
	b.hue("PUT", "/clip/v2/resource/geofence_client/"+gc, `{"is_at_home":true}`)
	items, msgs := collect(t, stream, 2)
	if msgs[0].events[0].Type != "add" || items[1]["is_at_home"] != true {
		t.Fatalf("geofence events %v", items)
	}
	if r := b.hue("POST", "/clip/v2/resource/geofence_client", `{"is_at_home":false}`); r.status != 400 {
		t.Fatalf("nameless geofence_client: %d", r.status)
	}
	// A room with the lamp gets a grouped_light that follows it.
	r = b.hue("POST", "/clip/v2/resource/room", `{"metadata":{"name":"Study","archetype":"office"},"children":[{"rid":"`+lamp["device"][0]+`","rtype":"device"}]}`)
	if r.status != 200 {
		t.Fatalf("POST room: %d %s", r.status, r.body)
	}
	collect(t, stream, 2) // room and grouped_light added
	b.hue("PUT", "/clip/v2/resource/light/"+lamp["light"][0], `{"on":{"on":true}}`)
	items, _ = collect(t, stream, 3)
	groups := 0
	for _, it := range items[1:] {
		if it["type"] == "grouped_light" && sub(it, "on")["on"] == true {
			groups++
		}
	}
	if groups != 2 {
		t.Fatalf("room and home groups: %v", items)
	}
	// Deleting the device removes its services and its place in the home.
	r = b.hue("DELETE", "/clip/v2/resource/device/"+lamp["device"][0], "")
	if r.status != 200 || len(b.resources("light")) != 0 {
		t.Fatalf("DELETE device: %d %s", r.status, r.body)
	}
	_, msgs = collect(t, stream, 3)
	if msgs[0].events[0].Type != "delete" {
		t.Fatalf("delete events %v", msgs[0].events)
	}
	if r := b.hue("DELETE", "/clip/v2/resource/geofence_client/"+gc, ""); r.status != 200 {
		t.Fatalf("DELETE geofence_client: %d", r.status)
	}
}
