package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/topic"
)

// FuzzParseEvent: a line of NDJSON (what import and publish -f read) is
// an event the server would take, or an error; never a panic. A line that
// herald export wrote parses back to the same event.
func FuzzParseEvent(f *testing.F) {
	exported, _ := json.Marshal(client.Event{Seq: 7, ID: "id-7", Time: time.Unix(1, 0).UTC(), Topic: "app.x", Type: "t", Data: json.RawMessage(`{"a":1}`)})
	f.Add(exported)
	f.Add([]byte(`{"topic":"hue.light.1","data":[1,2]}`))
	f.Add([]byte(`{"topic":"app..x"}`))
	f.Add([]byte(`{"seq":"x","topic":"app.x"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			return
		}
		d, err := parseEvent(line)
		if err != nil {
			return
		}
		if topic.Validate(d.Topic) != nil || d.ID == "" {
			t.Fatalf("accepted %q as %+v", line, d)
		}
	})
	d, err := parseEvent(exported)
	if err != nil || d.ID != "id-7" || d.Topic != "app.x" || d.Type != "t" || string(d.Data) != `{"a":1}` {
		f.Fatalf("an exported line parsed as %+v, %v", d, err)
	}
}
