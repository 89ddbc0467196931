package hue

import (
	"encoding/json"
	"fmt"
	"testing"
)

// Resource examples from the shared notes (protocols/hue-plex.md): the
// openhue-api examples (§1.2, §3) and a real bridge's dump (§7).
var docResources = map[string]string{
	"bridge": `{"bridge_id":"aabbccddeeffggh","id":"a1b5c18e-0000-4000-8000-000000000000","owner":{"rid":"bae2cb3c-0000-4000-8000-000000000000","rtype":"device"},"time_zone":{"time_zone":"Europe/Amsterdam"},"type":"bridge"}`,
	"bridge device": `{"id":"bae2cb3c-0000-4000-8000-000000000000","identify":{},"metadata":{"archetype":"bridge_v2","name":"Hue Bridge"},"product_data":{"certified":true,
		"manufacturer_name":"Signify Netherlands B.V.","model_id":"BSB002","product_archetype":"bridge_v2","product_name":"Hue Bridge","software_version":"1.78.2071401010"},
		"services":[{"rid":"a1b5c18e-0000-4000-8000-000000000000","rtype":"bridge"}],"type":"device"}`,
	"device": `{"id":"00000000-0000-4000-8000-000000000001","id_v1":"/lights/1","type":"device","identify":{},
		"product_data":{"model_id":"LCA001","manufacturer_name":"Signify Netherlands B.V.","product_name":"Hue color lamp",
		"product_archetype":"sultan_bulb","certified":true,"software_version":"1.104.2"},
		"metadata":{"name":"Hue color lamp 1","archetype":"sultan_bulb"},
		"services":[{"rid":"00000000-0000-4000-8000-000000000002","rtype":"light"},{"rid":"00000000-0000-4000-8000-000000000003","rtype":"zigbee_connectivity"}]}`,
	"light": `{"id":"00000000-0000-4000-8000-000000000002","id_v1":"/lights/1","type":"light","owner":{"rid":"00000000-0000-4000-8000-000000000001","rtype":"device"},"service_id":0,
		"metadata":{"name":"Hue color lamp 1","archetype":"sultan_bulb","function":"mixed"},"identify":{},"mode":"normal",
		"on":{"on":true},"dimming":{"brightness":100.0,"min_dim_level":0.2},
		"color_temperature":{"mirek":366,"mirek_valid":true,"mirek_schema":{"mirek_minimum":153,"mirek_maximum":500}},
		"color":{"xy":{"x":0.4573,"y":0.41},"gamut":{"red":{"x":0.6915,"y":0.3083},"green":{"x":0.17,"y":0.7},"blue":{"x":0.1532,"y":0.0475}},"gamut_type":"C"},
		"dynamics":{"status":"none","status_values":["none","dynamic_palette"],"speed":0.0,"speed_valid":false}}`,
	"button": `{"id":"00000000-0000-4000-8000-000000000004","id_v1":"/sensors/2","type":"button","owner":{"rid":"00000000-0000-4000-8000-000000000005","rtype":"device"},
		"metadata":{"control_id":1},
		"button":{"button_report":{"updated":"2023-09-01T10:00:00.000Z","event":"short_release"},
		"last_event":"short_release","repeat_interval":800,
		"event_values":["initial_press","repeat","short_release","long_release","long_press"]}}`,
	"grouped_light": `{"alert":{"action_values":["breathe"]},"dimming":{"brightness":0.0},"id":"00000000-0000-4000-8000-000000000006","id_v1":"/groups/115","on":{"on":false},"owner":{"rid":"00000000-0000-4000-8000-000000000007","rtype":"room"},"signaling":{"signal_values":["no_signal","on_off"]},"type":"grouped_light"}`,
	"room":          `{"children":[{"rid":"00000000-0000-4000-8000-000000000001","rtype":"device"}],"id":"00000000-0000-4000-8000-000000000007","id_v1":"/groups/92","metadata":{"archetype":"kitchen","name":"Room 1"},"services":[{"rid":"00000000-0000-4000-8000-000000000006","rtype":"grouped_light"}],"type":"room"}`,
}

// identity are the fields whose values, not only kinds, must match: what
// a client dispatches on.
var identity = map[string]bool{"type": true, "rtype": true, "model_id": true, "product_archetype": true, "gamut_type": true, "mode": true}

// covers lists where got lacks a field of doc or holds another kind of
// value (objects and arrays recursively, an array by its first element).
func covers(path string, doc, got any) []string {
	switch d := doc.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %T, want an object", path, got)}
		}
		var out []string
		for k, dv := range d {
			gv, ok := g[k]
			switch {
			case !ok:
				out = append(out, path+"."+k+": missing")
			case identity[k] && !jsonEqual(dv, gv):
				out = append(out, fmt.Sprintf("%s.%s: %v, want %v", path, k, gv, dv))
			default:
				out = append(out, covers(path+"."+k, dv, gv)...)
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || (len(d) > 0 && len(g) == 0) {
			return []string{fmt.Sprintf("%s: %v, want a list like %v", path, got, doc)}
		}
		if len(d) > 0 {
			return covers(path+"[0]", d[0], g[0])
		}
		return nil
	default:
		if fmt.Sprintf("%T", doc) != fmt.Sprintf("%T", got) {
			return []string{fmt.Sprintf("%s: %T, want %T", path, got, doc)}
		}
		return nil
	}
}

// TestDocumentedShapes: herald's resources have every field of the
// documented examples, with the same kinds of values; goldens of the lamp
// and its room pin the rest.
func TestDocumentedShapes(t *testing.T) {
	b := newBridge(t, Config{Name: "Hue Bridge", TimeZone: "Europe/Amsterdam"})
	lamp := b.addDevice("color_lamp", "Hue color lamp 1")
	sw := b.addDevice("dimmer_switch", "Switch")
	b.adminDo("/v1/hue/press", `{"button":"Switch"}`)
	var room struct{ Data []ref }
	b.hue("POST", "/clip/v2/resource/room", `{"metadata":{"name":"Room 1","archetype":"kitchen"},"children":[{"rid":"`+lamp["device"][0]+`","rtype":"device"}]}`).decode(t, &room)
	roomGroup := refs(mustGet(t, b, "room", room.Data[0].RID), "services")[0].RID
	ours := map[string][2]string{ // example → type, id
		"bridge":        {"bridge", b.api.bridge.Bridge},
		"bridge device": {"device", b.api.bridge.Device},
		"device":        {"device", lamp["device"][0]},
		"light":         {"light", lamp["light"][0]},
		"button":        {"button", sw["button"][0]},
		"grouped_light": {"grouped_light", roomGroup},
		"room":          {"room", room.Data[0].RID},
	}
	for name, doc := range docResources {
		t.Run(name, func(t *testing.T) {
			var d any
			if err := json.Unmarshal([]byte(doc), &d); err != nil {
				t.Fatal(err)
			}
			got := mustGet(t, b, ours[name][0], ours[name][1])
			for _, p := range covers(name, d, any(got)) {
				t.Error(p)
			}
		})
	}
	for _, g := range []struct{ file, rtype, id string }{
		{"light_get.json", "light", lamp["light"][0]},
		{"device_get.json", "device", lamp["device"][0]},
		{"room_get.json", "room", room.Data[0].RID},
		{"grouped_light_get.json", "grouped_light", roomGroup},
	} {
		golden(t, g.file, anonymise(t, b.hue("GET", "/clip/v2/resource/"+g.rtype+"/"+g.id, "").body))
	}
}

func mustGet(t *testing.T, b *bridge, rtype, id string) object {
	t.Helper()
	o, err := b.api.store.get(t.Context(), rtype, id)
	if err != nil {
		t.Fatalf("%s %s: %v", rtype, id, err)
	}
	return o
}

// TestCovers: the shape check finds what is missing or of another kind.
func TestCovers(t *testing.T) {
	doc := map[string]any{"type": "light", "on": map[string]any{"on": true}, "list": []any{map[string]any{"rid": "x"}}, "n": 1.0}
	for _, tc := range []struct {
		got  string
		want int
	}{
		{`{"type":"light","on":{"on":false},"list":[{"rid":"y","rtype":"z"}],"n":2,"extra":1}`, 0},
		{`{"type":"button","on":{"on":false},"list":[{"rid":"y"}],"n":2}`, 1},
		{`{"type":"light","on":{},"list":[{"rid":"y"}],"n":2}`, 1},
		{`{"type":"light","on":{"on":"yes"},"list":[],"n":"2"}`, 3},
		{`{}`, 4},
	} {
		var got any
		json.Unmarshal([]byte(tc.got), &got)
		if p := covers("x", doc, got); len(p) != tc.want {
			t.Errorf("%s: %v, want %d problems", tc.got, p, tc.want)
		}
	}
}
