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

// TestGroupsFollowLightAndDelete: a light change updates the grouped_light
// of its room, its zone and the home, as a bridge does; deleting a room or
// zone (or aiohue's geofence_client) sends delete events for it and what
// it owns.
func TestGroupsFollowLightAndDelete(t *testing.T) {
	b := newBridge(t, Config{})
	lamp := b.addDevice("color_lamp", "Lamp")
	child := func(rid, rtype string) string { return `[{"rid":"` + rid + `","rtype":"` + rtype + `"}]` }
	var room, zone, gc struct{ Data []ref }
	b.hue("POST", "/clip/v2/resource/room", `{"metadata":{"name":"Den","archetype":"office"},"children":`+child(lamp["device"][0], "device")+`}`).decode(t, &room)
	b.hue("POST", "/clip/v2/resource/zone", `{"metadata":{"name":"Nook","archetype":"reading"},"children":`+child(lamp["light"][0], "light")+`}`).decode(t, &zone)
	b.hue("POST", "/clip/v2/resource/geofence_client", `{"name":"phone","is_at_home":true}`).decode(t, &gc)
	groupOf := func(kind, id string) string {
		o, err := b.api.store.get(t.Context(), kind, id)
		if err != nil {
			t.Fatal(err)
		}
		return refs(o, "services")[0].RID
	}
	want := map[string]string{ // grouped_light → its owner's type
		groupOf("room", room.Data[0].RID): "room", groupOf("zone", zone.Data[0].RID): "zone",
		b.api.bridge.HomeGroup: "bridge_home",
	}
	stream := b.aiohueStream(t.Context())
	b.hue("PUT", "/clip/v2/resource/light/"+lamp["light"][0], `{"on":{"on":true},"dimming":{"brightness":70}}`)
	items, _ := collect(t, stream, 4)
	got := map[string]string{}
	for _, it := range items[1:] {
		if it["type"] != "grouped_light" || sub(it, "on")["on"] != true || sub(it, "dimming")["brightness"] != 70.0 {
			t.Fatalf("group update %v", it)
		}
		got[str(it, "id")] = str(sub(it, "owner"), "rtype")
	}
	if !jsonEqual(got, want) {
		t.Fatalf("groups updated %v, want %v", got, want)
	}

	for _, tc := range []struct {
		rtype, id string
		gone      []string // the types whose delete events it sends
	}{
		{"room", room.Data[0].RID, []string{"grouped_light", "room"}},
		{"zone", zone.Data[0].RID, []string{"grouped_light", "zone"}},
		{"geofence_client", gc.Data[0].RID, []string{"geofence_client"}},
	} {
		if r := b.hue("DELETE", "/clip/v2/resource/"+tc.rtype+"/"+tc.id, ""); r.status != 200 {
			t.Fatalf("DELETE %s: %d %s", tc.rtype, r.status, r.body)
		}
		_, msgs := collect(t, stream, len(tc.gone))
		var kinds []string
		for _, e := range flatten(msgs) {
			if e.Type != "delete" || len(e.Data) != 1 || len(e.Data[0]) > 3 {
				t.Fatalf("DELETE %s: event %+v", tc.rtype, e)
			}
			kinds = append(kinds, str(e.Data[0], "type"))
		}
		if !jsonEqual(kinds, tc.gone) {
			t.Fatalf("DELETE %s: deleted %v, want %v", tc.rtype, kinds, tc.gone)
		}
		if r := b.hue("GET", "/clip/v2/resource/"+tc.rtype+"/"+tc.id, ""); r.status != 404 {
			t.Fatalf("GET deleted %s: %d", tc.rtype, r.status)
		}
	}
	stateAgreesWithLog(t, b)
}
