package terso

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// FuzzParseDelete: any body either fails with a 400-class error or yields
// exactly one of a batch id or 1..100 canonical GUIDs.
func FuzzParseDelete(f *testing.F) {
	for _, s := range []string{
		`{"BatchId":"c15d316b-5fc3-4a7f-a2ba-b1a96aabcd32"}`,
		`{"BatchId":"c15d316b-5fc3-4a7f-a2ba-b1a96aabcd32","EventIds":null}`,
		`{"EventIds":["8af92758-451c-4082-a455-d57e927676a8","64f295f7-ceb6-46aa-a5d0-2a66e7009ff0"]}`,
		`{"BatchId":null,"EventIds":null}`, `{"batchid":"C15D316B-5FC3-4A7F-A2BA-B1A96AABCD32"}`,
		`{}`, ``, `null`, `[]`, `{"EventIds":[]}`, `{"BatchId":1}`, `{"BatchId":"x"} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseDelete(body)
		if err != nil {
			if _, ok := err.(*invalidError); !ok {
				t.Fatalf("error %T %v is not a bad request", err, err)
			}
			return
		}
		if (req.BatchID == "") == (len(req.EventIDs) == 0) || len(req.EventIDs) > MaxDeleteEvents {
			t.Fatalf("accepted %+v", req)
		}
		for _, id := range append([]string{req.BatchID}, req.EventIDs...) {
			if c, ok := parseAccessKey(id); id != "" && (!ok || c != id) {
				t.Fatalf("non-canonical GUID %q accepted", id)
			}
		}
	})
}

// FuzzParseGetParams: any path limit and query either fails with a bad
// request or gives values in range that form a valid topic pattern.
func FuzzParseGetParams(f *testing.F) {
	for _, s := range [][2]string{{"5", ""}, {"", "type=HeartbeatEvent&device=MyDeviceName1&eventversion=2"},
		{"0", ""}, {"513", ""}, {"", "limit=12"}, {"", "device=a.b"}, {"", "type=*"}, {"x", "sort=desc"},
		{"", "Device=a&device=b"}, {"-1", "%zz"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, limit, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := parseGetParams(limit, q)
		if err != nil {
			if _, ok := err.(*invalidError); !ok {
				t.Fatalf("error %T %v is not a bad request", err, err)
			}
			return
		}
		if p.limit < 1 || p.limit > MaxLimit || p.eventVersion < 0 {
			t.Fatalf("out of range: %+v", p)
		}
		if err := topic.ValidatePattern(p.pattern()); err != nil {
			t.Fatalf("pattern %q: %v", p.pattern(), err)
		}
	})
}

// FuzzToWire: whatever data a native publisher stored on a Jetstream
// topic, the delivered event is a JSON object with a Type and an EventId.
func FuzzToWire(f *testing.F) {
	for _, s := range []string{`{}`, `null`, `42`, `"s"`, `[1]`, `{"Type":"X"}`, `{"Type":1}`, `{"EventId":"e","Version":"x"}`,
		`{"a":{"b":"}"}}`, heartbeat("d", guid(1))} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return // the log only stores valid JSON
		}
		ev := eventlog.Event{Seq: 1, ID: "id", Topic: "jetstream.d.heartbeatevent", Type: "event", Data: data}
		w := toWire(&ev)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(w.Data, &m); err != nil {
			t.Fatalf("not an object: %s: %v", w.Data, err)
		}
		if m["Type"] == nil || m["EventId"] == nil {
			t.Fatalf("missing Type or EventId: %s", w.Data)
		}
	})
}

// FuzzDraftOf: any upstream event either is refused or becomes a draft on
// a valid topic that keeps its bytes.
func FuzzDraftOf(f *testing.F) {
	for _, s := range []string{
		`{"Device":"d1","Type":"HeartbeatEvent","EventId":"ab6f31e5-0000-4000-8000-000000000001","EventTime":"2025-01-02T03:04:01Z","Version":2}`,
		`{"Device":"a.b*>","Type":"x y"}`, `{"Device":1}`, `{}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := DraftOf(data)
		if err != nil {
			return
		}
		if topic.Validate(d.Topic) != nil || string(d.Data) != string(data) || d.ID == "" {
			t.Fatalf("%q: draft %+v", data, d)
		}
	})
}
