package hue

import (
	"testing"
)

// TestGroupChildren: a room groups devices and a zone services of devices,
// all existing and each once; anything else is a 400 in Hue's error shape
// that changes nothing, on POST and on PUT.
func TestGroupChildren(t *testing.T) {
	b := newBridge(t, Config{})
	lamp := b.addDevice("color_lamp", "Lamp")
	sw := b.addDevice("smart_button", "Button")
	dev, light, button := lamp["device"][0], lamp["light"][0], sw["button"][0]
	const missing = "00000000-0000-4000-8000-000000000000"
	child := func(rid, rtype string) string { return `{"rid":"` + rid + `","rtype":"` + rtype + `"}` }
	room := b.hue("POST", "/clip/v2/resource/room", `{"metadata":{"name":"Den","archetype":"office"}}`)
	zone := b.hue("POST", "/clip/v2/resource/zone", `{"metadata":{"name":"Nook","archetype":"reading"}}`)
	var rID, zID struct{ Data []ref }
	room.decode(t, &rID)
	zone.decode(t, &zID)
	for _, tc := range []struct {
		name, kind, children string
		ok                   bool
	}{
		{"room of a device", "room", child(dev, "device"), true},
		{"room of nothing", "room", ``, true},
		{"room of a light", "room", child(light, "light"), false},
		{"room of a missing device", "room", child(missing, "device"), false},
		{"room of a light's id as a device", "room", child(light, "device"), false},
		{"room of a device twice", "room", child(dev, "device") + "," + child(dev, "device"), false},
		{"room of a bad id", "room", child("nope", "device"), false},
		{"zone of a light", "zone", child(light, "light"), true},
		{"zone of a button", "zone", child(button, "button"), true},
		{"zone of a device", "zone", child(dev, "device"), false},
		{"zone of a room", "zone", child(rID.Data[0].RID, "room"), false},
		{"zone of a missing light", "zone", child(missing, "light"), false},
		{"zone of an unknown type", "zone", child(light, "lamp"), false},
		{"zone of a grouped light", "zone", child(b.api.bridge.HomeGroup, "grouped_light"), false},
	} {
		id := rID.Data[0].RID
		if tc.kind == "zone" {
			id = zID.Data[0].RID
		}
		children := `"children":[` + tc.children + `]`
		for _, req := range []struct{ method, path, body string }{
			{"POST", "/clip/v2/resource/" + tc.kind, `{"metadata":{"name":"X","archetype":"other"},` + children + `}`},
			{"PUT", "/clip/v2/resource/" + tc.kind + "/" + id, `{` + children + `}`},
		} {
			_, before, _ := b.core.Log.Bounds(t.Context())
			r := b.hue(req.method, req.path, req.body)
			var env envelope
			r.decode(t, &env)
			_, after, _ := b.core.Log.Bounds(t.Context())
			switch {
			case tc.ok && r.status != 200:
				t.Errorf("%s %s: %d %s", tc.name, req.method, r.status, r.body)
			case !tc.ok && (r.status != 400 || len(env.Errors) != 1 || env.Errors[0].Description == "" || after != before):
				t.Errorf("%s %s: %d %s (log %d -> %d)", tc.name, req.method, r.status, r.body, before, after)
			}
		}
	}
	r := b.hue("PUT", "/clip/v2/resource/room/"+rID.Data[0].RID, `{"children":[`+child(missing, "device")+`]}`)
	golden(t, "room_missing_child.json", r.body)
}

// TestRoomMembershipMovesGroups: putting a light's device into a room
// makes the room's group follow the light at once.
func TestRoomMembershipMovesGroups(t *testing.T) {
	b := newBridge(t, Config{})
	lamp := b.addDevice("color_lamp", "Lamp")
	b.hue("PUT", "/clip/v2/resource/light/"+lamp["light"][0], `{"on":{"on":true},"dimming":{"brightness":40}}`)
	r := b.hue("POST", "/clip/v2/resource/room", `{"metadata":{"name":"Den","archetype":"office"}}`)
	var env struct{ Data []ref }
	r.decode(t, &env)
	room, err := b.api.store.get(t.Context(), "room", env.Data[0].RID)
	if err != nil {
		t.Fatal(err)
	}
	group := refs(room, "services")[0].RID
	gl, _ := b.api.store.get(t.Context(), "grouped_light", group)
	if sub(gl, "on")["on"] != false {
		t.Fatalf("empty room's group: %v", gl)
	}
	b.hue("PUT", "/clip/v2/resource/room/"+env.Data[0].RID, `{"children":[{"rid":"`+lamp["device"][0]+`","rtype":"device"}]}`)
	gl, _ = b.api.store.get(t.Context(), "grouped_light", group)
	if sub(gl, "on")["on"] != true || sub(gl, "dimming")["brightness"] != 40.0 {
		t.Fatalf("room's group after the lamp joined: %v", gl)
	}
	stateAgreesWithLog(t, b)
}
