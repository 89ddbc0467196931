package hue

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// Documented wire examples, verbatim from the shared notes
// (protocols/hue-plex.md): the openhue-api event stream example (§3, a
// light turned off) and a real bridge's button press (§7). A bridge's id
// ends in ":0"; herald's in the log sequence, which is all that differs.
const (
	docLightMessage = "id: 1770343753:0\n" +
		`data: [{"creationtime":"2026-02-06T02:09:13Z","data":[{"id":"1e3d9a73-7069-40ed-a889-051763348737","id_v1":"/lights/20","on":{"on":false},"owner":{"rid":"9dcb0171-4b4f-4c47-874f-6b56bde667a0","rtype":"device"},"service_id":0,"type":"light"}],"id":"dbcbe13e-5528-4f1e-a174-bd2da08c965d","type":"update"}]` + "\n\n"
	docButtonMessage = "id: 1700000000:0\n" +
		`data: [{"creationtime":"2023-11-14T22:13:20Z","data":[{"button":{"button_report":{"event":"initial_press","updated":"2023-11-14T22:13:20.123Z"},"last_event":"initial_press"},"id":"0a9acc8f-a8ab-af2e-373b-dc6040de3bd5","id_v1":"/sensors/62","owner":{"rid":"c59ce269-4b38-b432-f6c4-ca9181865666","rtype":"device"},"type":"button"}],"id":"9a1e6f1c-2c1b-4d0e-9a57-3f1f1f1f1f1f","type":"update"}]` + "\n\n"
)

// TestMessagesFromNotes builds the documented messages the way herald
// makes them — the update item from the resource and its change (only the
// changed fields plus id, id_v1, type, owner, service_id), stored as a log
// event, framed as an SSE message — and compares them with the notes.
func TestMessagesFromNotes(t *testing.T) {
	light := normalize(object{
		"id": "1e3d9a73-7069-40ed-a889-051763348737", "id_v1": "/lights/20", "type": "light", "service_id": 0,
		"owner":    object{"rid": "9dcb0171-4b4f-4c47-874f-6b56bde667a0", "rtype": "device"},
		"metadata": object{"name": "Hue color lamp 1", "archetype": "sultan_bulb", "function": "mixed"},
		"identify": object{}, "mode": "normal", "on": object{"on": false},
		"dimming": object{"brightness": 100.0, "min_dim_level": 0.2},
	}).(object)
	button := normalize(object{
		"id": "0a9acc8f-a8ab-af2e-373b-dc6040de3bd5", "id_v1": "/sensors/62", "type": "button",
		"owner":    object{"rid": "c59ce269-4b38-b432-f6c4-ca9181865666", "rtype": "device"},
		"metadata": object{"control_id": 3},
		"button": object{"repeat_interval": 800,
			"event_values": []any{"initial_press", "repeat", "short_release", "long_release", "long_press"}},
	}).(object)
	pressed := ident(button)
	merge(pressed, buttonReport(time.Unix(1700000000, 123e6), "initial_press"))
	b := newBridge(t, Config{}) // a format is registered on a hub
	for _, tc := range []struct {
		golden, doc string
		id          string
		at          time.Time
		item        change
	}{
		{"sse_light_update.txt", docLightMessage, "dbcbe13e-5528-4f1e-a174-bd2da08c965d", time.Unix(1770343753, 0),
			updated(light, object{"on": object{"on": false}})},
		{"sse_button_press.txt", docButtonMessage, "9a1e6f1c-2c1b-4d0e-9a57-3f1f1f1f1f1f", time.Unix(1700000000, 0),
			newChange("update", pressed)},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			ev := &hub.Event{Event: eventlog.Event{
				Seq: 7, ID: tc.id, Time: tc.at, Topic: resTopic(tc.item.rtype, tc.item.rid), Type: tc.item.kind, Data: tc.item.data,
			}}
			got := appendMessage(nil, b.api.evFmt, []*hub.Event{ev})
			golden(t, tc.golden, got)
			ts := strconv.FormatInt(tc.at.Unix(), 10)
			if bridgeForm := strings.Replace(string(got), "id: "+ts+":7\n", "id: "+ts+":0\n", 1); bridgeForm != tc.doc {
				t.Errorf("not the documented message:\n got %s\nwant %s", bridgeForm, tc.doc)
			}
		})
	}
}

// TestLongPollBodyFromSpec: the openhue-api Event example (one update of
// four lights, src/eventstream/schemas/Event.yaml) as a long-poll answer,
// from an event whose data is already a list of items (a publisher's own).
func TestLongPollBodyFromSpec(t *testing.T) {
	items := `[{"id":"40252235-b3e6-488c-b981-495a1755c5f9","id_v1":"/lights/22","on":{"on":false},"owner":{"rid":"8eae78ef-be2d-4b67-b6cf-ad027b147914","rtype":"device"},"service_id":0,"type":"light"},` +
		`{"id":"639d878e-add1-4dca-89d5-a141ce4bd10b","id_v1":"/lights/12","on":{"on":false},"owner":{"rid":"c6328005-e4dd-4470-8b4d-5408f393d4a6","rtype":"device"},"service_id":0,"type":"light"},` +
		`{"id":"de4a6334-d168-4016-8681-97cdd7751f36","id_v1":"/lights/8","on":{"on":false},"owner":{"rid":"1cf4070c-53dd-4cf0-8518-eb3e0da63a86","rtype":"device"},"service_id":0,"type":"light"},` +
		`{"id":"725e6c00-50d4-40f5-8214-3a97f2e25c72","id_v1":"/lights/19","on":{"on":false},"owner":{"rid":"5b8a4967-0339-487e-a66d-92c21d5d72c4","rtype":"device"},"service_id":0,"type":"light"}]`
	want := `[{"creationtime":"2026-02-05T20:04:15Z","data":` + items + `,"id":"7c1d96be-cf0d-4c3c-8f13-08df14b3966b","type":"update"}]`
	b := newBridge(t, Config{})
	ev := &hub.Event{Event: eventlog.Event{Seq: 3, ID: "7c1d96be-cf0d-4c3c-8f13-08df14b3966b",
		Time: mustTime("2026-02-05T20:04:15Z"), Topic: "hue.lights", Type: "update", Data: []byte(items)}}
	if got := string(appendArray(nil, b.api.evFmt, []*hub.Event{ev})); got != want {
		t.Fatalf("long-poll body:\n got %s\nwant %s", got, want)
	}
}

func TestEncodeEvent(t *testing.T) {
	for _, tc := range []struct {
		ev   eventlog.Event
		want string
	}{
		{eventlog.Event{ID: "9a1e6f1c-2c1b-4d0e-9a57-3f1f1f1f1f1f", Time: time.Unix(1700000000, 123), Type: "update", Data: []byte(`{"id":"a"}`)},
			`{"creationtime":"2023-11-14T22:13:20Z","data":[{"id":"a"}],"id":"9a1e6f1c-2c1b-4d0e-9a57-3f1f1f1f1f1f","type":"update"}`},
		{eventlog.Event{ID: "9a1e6f1c-2c1b-4d0e-9a57-3f1f1f1f1f1f", Time: time.Unix(1700000000, 0), Type: "delete", Data: []byte(`[{"id":"a"},{"id":"b"}]`)},
			`{"creationtime":"2023-11-14T22:13:20Z","data":[{"id":"a"},{"id":"b"}],"id":"9a1e6f1c-2c1b-4d0e-9a57-3f1f1f1f1f1f","type":"delete"}`},
		// A publisher's own id and type, and multi-line JSON, still make one line.
		{eventlog.Event{ID: "door-1", Time: time.Unix(1700000000, 0), Type: "opened", Data: []byte("{\n\"a\": 1\n}")},
			`{"creationtime":"2023-11-14T22:13:20Z","data":[{"a":1}],"id":"` + encodeID("door-1") + `","type":"update"}`},
	} {
		if got := string(encodeEvent(&tc.ev)); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// encodeID is the UUID an event with a publisher's id s gets.
func encodeID(s string) string { return uuid.NewSHA1(idNamespace, []byte(s)).String() }
