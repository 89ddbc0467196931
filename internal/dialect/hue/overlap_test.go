package hue

import (
	"encoding/json"
	"testing"
)

func TestAbsorbed(t *testing.T) {
	const b, l = "7d2b3c4e-0000-4000-8000-000000000001", "7d2b3c4e-0000-4000-8000-000000000002"
	press := func(ev, at string) Event {
		return Event{Type: "update", Data: []json.RawMessage{json.RawMessage(
			`{"id":"` + b + `","type":"button","button":{"button_report":{"event":"` + ev + `","updated":"` + at + `"}}}`)}}
	}
	dim := func(v string) Event {
		return Event{Type: "update", Data: []json.RawMessage{json.RawMessage(
			`{"id":"` + l + `","type":"light","dimming":{"brightness":` + v + `}}`)}}
	}
	kind := func(k, rid, rtype string) Event {
		return Event{Type: k, Data: []json.RawMessage{json.RawMessage(`{"id":"` + rid + `","type":"` + rtype + `"}`)}}
	}
	snap := func(items ...string) map[resource]object {
		m := map[resource]object{}
		for _, s := range items {
			o, _ := decodeObject([]byte(s))
			m[resource{str(o, "type"), str(o, "id")}] = o
		}
		return m
	}
	released := `{"id":"` + b + `","type":"button","button":{"button_report":{"event":"short_release","updated":"T2"}}}`
	at60 := `{"id":"` + l + `","type":"light","dimming":{"brightness":60}}`
	for _, tc := range []struct {
		name    string
		overlap []Event
		snap    map[resource]object
		want    int
	}{
		{"a press the snapshot holds", []Event{press("initial_press", "T1"), press("short_release", "T2")}, snap(released), 2},
		{"a press after the snapshot", []Event{press("initial_press", "T3")}, snap(released), 0},
		{"held, then a press after", []Event{press("short_release", "T2"), press("initial_press", "T3")}, snap(released), 1},
		{"an older value overwritten before the snapshot", []Event{dim("50"), dim("60")}, snap(at60), 2},
		{"a change after the snapshot", []Event{dim("70")}, snap(at60), 0},
		{"the snapshot between two changes", []Event{dim("60"), dim("70")}, snap(at60), 1},
		{"an add it holds", []Event{kind("add", l, "light")}, snap(at60), 1},
		{"an add it lacks", []Event{kind("add", l, "light")}, snap(), 0},
		{"a delete it reflects", []Event{kind("delete", l, "light")}, snap(), 1},
		{"a delete after it", []Event{kind("delete", l, "light")}, snap(at60), 0},
		{"nothing", nil, snap(at60), 0},
	} {
		if got := absorbed(tc.overlap, tc.snap); got != tc.want {
			t.Errorf("%s: absorbed %d, want %d", tc.name, got, tc.want)
		}
	}
}
