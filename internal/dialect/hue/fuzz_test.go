package hue

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
)

// FuzzParseEventID: any If-None-Match or Last-Event-ID value either fails
// or round-trips through the id herald writes.
func FuzzParseEventID(f *testing.F) {
	for _, s := range []string{"1770336203:0", `"1770336203:0"`, "W/\"1:2\"", "1770343753:42", " 17:3 ", "42",
		"0", ":", "1:", ":1", "-1:0", "1:-1", "1:2:3", "99999999999999999999:1", "1:18446744073709551616", "x:y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, seq, err := parseEventID(s)
		if err != nil {
			return
		}
		if ts < 0 || (ts == 0 && seq == 0 && !strings.Contains(s, ":")) {
			t.Fatalf("%q -> %d:%d", s, ts, seq)
		}
		ts2, seq2, err := parseEventID(formatID(ts, seq))
		if err != nil || ts2 != ts || seq2 != seq {
			t.Fatalf("%q -> %d:%d does not round-trip: %d:%d %v", s, ts, seq, ts2, seq2, err)
		}
	})
}

// FuzzValidatePut: any PUT body either fails as a bad request (400) or
// yields a patch that, merged into the resource, keeps it valid JSON whose
// on, brightness and control id are in range.
func FuzzValidatePut(f *testing.F) {
	for _, s := range []string{`{"on":{"on":true}}`, `{"dimming":{"brightness":50}}`, `{"color":{"xy":{"x":0.3,"y":0.3}}}`,
		`{"metadata":{"control_id":1},"button":{"repeat_interval":800}}`, `{"type":"light"}`, `{}`, `[]`, `null`,
		`{"dimming_delta":{"action":"up","brightness_delta":80}}`, `{"color_temperature_delta":{"action":"down","mirek_delta":347}}`,
		`{"metadata":{"name":"x"}}`, `{"on":{"on":true}}}`, `{"a":1,"a":2}`} {
		f.Add("light", []byte(s))
		f.Add("button", []byte(s))
		f.Add("device", []byte(s))
		f.Add("grouped_light", []byte(s))
	}
	for _, s := range []string{`{"children":[{"rid":"00000000-0000-4000-8000-000000000000","rtype":"device"}]}`,
		`{"children":[{"rid":"00000000-0000-4000-8000-000000000000","rtype":"light"}]}`, `{"children":null}`,
		`{"children":[{"rid":"x","rtype":"device","extra":1}]}`, `{"metadata":{"name":"Den","archetype":"office"}}`} {
		f.Add("room", []byte(s))
		f.Add("zone", []byte(s))
	}
	light := normalize(newLight(product{Light: "color", Archetype: "sultan_bulb"}, "x", "/lights/1")).(object)
	others := map[string]object{
		"light": light,
		"button": normalize(object{"id": "b", "type": "button", "metadata": object{"control_id": 1},
			"button": object{"repeat_interval": 800}}).(object),
		"device":        normalize(object{"id": "d", "type": "device", "metadata": object{"name": "n", "archetype": "a"}}).(object),
		"grouped_light": normalize(object{"id": "g", "type": "grouped_light", "on": object{"on": false}}).(object),
		"room": normalize(object{"id": "r", "type": "room", "children": []any{},
			"metadata": object{"name": "n", "archetype": "office"}}).(object),
		"zone": normalize(object{"id": "z", "type": "zone", "children": []any{},
			"metadata": object{"name": "n", "archetype": "reading"}}).(object),
	}
	f.Fuzz(func(t *testing.T, rtype string, body []byte) {
		cur, ok := others[rtype]
		if !ok {
			return
		}
		p, err := validatePut(rtype, clone(cur), body)
		if err != nil {
			if !strings.HasPrefix(err.Error(), errBadRequest.Error()) {
				t.Fatalf("%s %q: %v is not a bad request", rtype, body, err)
			}
			return
		}
		o := clone(cur)
		merge(o, p)
		if _, err := json.Marshal(o); err != nil {
			t.Fatalf("merged resource: %v", err)
		}
		if b, ok := number(sub(o, "dimming"), "brightness"); ok && (b < 0 || b > 100) {
			t.Fatalf("brightness %v from %q", b, body)
		}
		if c, ok := number(sub(o, "metadata"), "control_id"); ok && (c < 0 || c > 8) {
			t.Fatalf("control_id %v from %q", c, body)
		}
		for _, c := range refs(o, "children") {
			if !uuidRE.MatchString(c.RID) || (rtype == "room" && c.RType != "device") || (rtype == "zone" && groupTypes[c.RType]) {
				t.Fatalf("child %v of a %s from %q", c, rtype, body)
			}
		}
		if on, ok := o["on"]; ok {
			if _, ok := sub(o, "on")["on"].(bool); !ok {
				t.Fatalf("on %v from %q", on, body)
			}
		}
		// Whatever is accepted encodes as one line on the stream.
		e := eventlog.Event{ID: "x", Type: "update", Data: mustJSON(p)}
		if line := encodeEvent(&e); strings.ContainsAny(string(line), "\r\n") || !json.Valid(line) {
			t.Fatalf("event %q", line)
		}
	})
}
