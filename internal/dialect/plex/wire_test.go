package plex

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
)

// goldenCase is one file set in testdata: the stored event (.json), and the
// EventSource message (.sse) and WebSocket frame (.ws) Plex clients must
// get for it, written from the documented captures (hue-plex.md §6).
type goldenCase struct {
	name  string
	topic string
	data  json.RawMessage
	sse   string // with "id: 42"
	ws    string
}

// goldenCases loads every case; each notification type has one.
func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	var cases []goldenCase
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		var in struct {
			Topic string          `json:"topic"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(read(t, f), &in); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cases = append(cases, goldenCase{name: name, topic: in.Topic, data: in.Data,
			sse: string(read(t, "testdata/"+name+".sse")),
			ws:  strings.TrimSuffix(string(read(t, "testdata/"+name+".ws")), "\n")})
	}
	return cases
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenCoversEveryType(t *testing.T) {
	have := map[string]bool{}
	for _, c := range goldenCases(t) {
		have[strings.TrimPrefix(c.topic, TopicPrefix)] = true
	}
	for typ := range elements {
		if !have[typ] {
			t.Errorf("no golden case for %q", typ)
		}
	}
}

func TestEncodeGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			e := &eventlog.Event{Seq: 42, Topic: c.topic, Type: "ignored", Data: c.data}
			if got := string(encodeSSE(e)); got != c.sse {
				t.Errorf("SSE:\n got %q\nwant %q", got, c.sse)
			}
			if got := string(encodeWS(e)); got != c.ws {
				t.Errorf("WS:\n got %s\nwant %s", got, c.ws)
			}
		})
	}
}

// The WebSocket capture from a real server (PlexKodiConnect issue #162)
// has its keys in another order; it must decode to the same value.
func TestWSMatchesRealCapture(t *testing.T) {
	const capture = `{"NotificationContainer":{"PlaySessionStateNotification":[{"viewOffset":2119067,"url":"","ratingKey":"2174","state":"playing","sessionKey":"7","key":"/library/metadata/2174","guid":""}],"type":"playing","size":1}}`
	e := &eventlog.Event{Seq: 1, Topic: "plex.playing",
		Data: json.RawMessage(`{"viewOffset":2119067,"url":"","ratingKey":"2174","state":"playing","sessionKey":"7","key":"/library/metadata/2174","guid":""}`)}
	var got, want any
	if err := json.Unmarshal(encodeWS(e), &got); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(capture), &want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

func TestDecodeShapes(t *testing.T) {
	tests := []struct {
		name, topic, data string
		element           string
		items             []string
	}{
		{"wrapped", "plex.playing", `{"PlaySessionStateNotification":{"a":1}}`, "PlaySessionStateNotification", []string{`{"a":1}`}},
		{"bare", "plex.playing", `{"a":1}`, "PlaySessionStateNotification", []string{`{"a":1}`}},
		{"bare one key", "plex.reachability", `{"reachability":true}`, "ReachabilityNotification", []string{`{"reachability":true}`}},
		{"capitalised scalar is bare", "plex.status", `{"Title":"x"}`, "StatusNotification", []string{`{"Title":"x"}`}},
		{"own element", "plex.timeline", `{"Other":{"b":2}}`, "Other", []string{`{"b":2}`}},
		{"array", "plex.timeline", `{"TimelineEntry":[{"a":1},{"a":2}]}`, "TimelineEntry", []string{`{"a":1}`, `{"a":2}`}},
		{"bare array", "plex.log", `[{"a":1}]`, "LogSentNotification", []string{`{"a":1}`}},
		{"scalar", "plex.progress", `"hello"`, "ProgressNotification", []string{`"hello"`}},
		{"unknown type", "plex.provider.content.change", `{}`, "ProviderNotification", []string{`{}`}},
		{"indented", "plex.status", "{\n  \"title\": \"x\"\n}", "StatusNotification", []string{"{\n  \"title\": \"x\"\n}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := decode(&eventlog.Event{Topic: tt.topic, Data: json.RawMessage(tt.data)})
			if n.element != tt.element || len(n.items) != len(tt.items) {
				t.Fatalf("decode = %s %q, want %s %q", n.element, n.items, tt.element, tt.items)
			}
			for i := range n.items {
				if string(n.items[i]) != tt.items[i] {
					t.Fatalf("item %d = %s, want %s", i, n.items[i], tt.items[i])
				}
			}
		})
	}
}

// Whatever the data, the SSE message has one data: line per object and
// both encodings are valid JSON.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{`{"A":{"b":1}}`, `{"A":[1,2]}`, `[]`, `{}`, "{\n\"a\":\n1}", `"x"`, `{"A":[{"x":"\u2028"}]}`} {
		f.Add("playing", []byte(s))
	}
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		if !json.Valid(data) || strings.ContainsAny(typ, "\r\n") {
			return
		}
		e := &eventlog.Event{Seq: 7, Topic: TopicPrefix + typ, Data: data}
		var ws any
		if err := json.Unmarshal(encodeWS(e), &ws); err != nil {
			t.Fatalf("WS frame is not JSON: %s", encodeWS(e))
		}
		for msg := range bytes.SplitSeq(bytes.TrimSuffix(encodeSSE(e), []byte("\n\n")), []byte("\n\n")) {
			if len(msg) == 0 {
				continue
			}
			var datas int
			for line := range bytes.SplitSeq(msg, []byte("\n")) {
				if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
					datas++
					if !json.Valid(d) {
						t.Fatalf("data line is not JSON: %q", d)
					}
				}
			}
			if datas != 1 {
				t.Fatalf("%d data lines in %q", datas, msg)
			}
		}
	})
}
