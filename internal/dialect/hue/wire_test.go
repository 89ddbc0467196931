package hue

import (
	"github.com/google/uuid"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// TestSSEMessageFromSpec builds the message of the openhue-api example
// (src/eventstream: a light turned off) from the event herald would store
// for it; only the id's <n> differs from the bridge's: it is the sequence.
func TestSSEMessageFromSpec(t *testing.T) {
	ev := &hub.Event{Event: eventlog.Event{
		Seq:   7,
		ID:    "dbcbe13e-5528-4f1e-a174-bd2da08c965d",
		Time:  time.Unix(1770343753, 0),
		Topic: "hue.light.1e3d9a73-7069-40ed-a889-051763348737",
		Type:  "update",
		Data:  []byte(`{"id":"1e3d9a73-7069-40ed-a889-051763348737","id_v1":"/lights/20","on":{"on":false},"owner":{"rid":"9dcb0171-4b4f-4c47-874f-6b56bde667a0","rtype":"device"},"service_id":0,"type":"light"}`),
	}}
	b := newBridge(t, Config{}) // a format is registered on a hub
	golden(t, "sse_light_update.txt", appendMessage(nil, b.api.evFmt, []*hub.Event{ev}))
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
