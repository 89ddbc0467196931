package terso

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// TestWireFillsNativeEvents: an event published through the native API
// to jetstream.<device>.<type> with partial data is delivered as a
// complete Jetstream event; a complete one is copied byte for byte.
func TestWireFillsNativeEvents(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123, time.UTC)
	evs := []eventlog.Event{
		{Seq: 1, ID: guid(1), Time: at, Topic: "jetstream.reader-1.heartbeatevent", Type: "event", Data: json.RawMessage(`{}`)},
		{Seq: 2, ID: guid(2), Time: at, Topic: "jetstream.reader-1.sensorreadingevent", Type: "event",
			Data: json.RawMessage(`{"SensorReadings":[{"Name":"t","Value":"4","ReadingTime":"2026-03-01T11:59:58Z"}]}`)},
		{Seq: 3, ID: guid(3), Time: at, Topic: "jetstream.reader-1.devicemodifiedevent", Type: "DeviceModifiedEvent", Data: json.RawMessage(`42`)},
		{Seq: 4, ID: guid(4), Time: at, Topic: "jetstream.reader-1.customthing", Type: "event", Data: json.RawMessage(`null`)},
	}
	var out []json.RawMessage
	for i := range evs {
		w := toWire(&evs[i])
		if !json.Valid(w.Data) || w.EventID != evs[i].ID {
			t.Fatalf("event %d: %s (%+v)", i, w.Data, w)
		}
		out = append(out, w.Data)
	}
	b, _ := json.Marshal(out)
	golden(t, "native_published.json", b)

	complete := []byte(heartbeat("x", guid(9)))
	ev := eventlog.Event{Seq: 5, ID: "other", Time: at, Topic: "jetstream.x.heartbeatevent", Type: "HeartbeatEvent", Data: complete}
	if w := toWire(&ev); string(w.Data) != string(complete) || w.EventID != guid(9) || w.Version != 2 {
		t.Fatalf("complete event changed: %s %+v", w.Data, w)
	}
}

// An event read from another Jetstream API is stored so that it is served
// byte for byte as received, under its device's and type's topic.
func TestDraftOf(t *testing.T) {
	in := `{"Device":"Cab 1.a","ReceivedTime":"2025-01-02T03:04:05Z","Type":"HeartbeatEvent","EventId":"AB6F31E5-0000-4000-8000-000000000001","EventTime":"2025-01-02T03:04:01Z","Version":2}`
	d, err := DraftOf(json.RawMessage(in))
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "ab6f31e5-0000-4000-8000-000000000001" || d.Topic != "jetstream.Cab_1_a.heartbeatevent" || d.Type != "HeartbeatEvent" || string(d.Data) != in {
		t.Fatalf("draft %+v", d)
	}
	w := toWire(&eventlog.Event{Seq: 7, ID: d.ID, Topic: d.Topic, Type: d.Type, Data: d.Data})
	if string(w.Data) != in || w.EventID != "AB6F31E5-0000-4000-8000-000000000001" {
		t.Fatalf("served as %s (id %s)", w.Data, w.EventID)
	}
	d, err = DraftOf(json.RawMessage(`{"Type":"DeviceAddedEvent","Version":3}`))
	if err != nil || d.Topic != "jetstream._.deviceaddedevent" || !strings.HasPrefix(d.ID, "sha256:") {
		t.Fatalf("event without device or id: %+v %v", d, err)
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{`} {
		if _, err := DraftOf(json.RawMessage(bad)); !errors.Is(err, ErrNotEvent) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
