package eventlog

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// Bounds asks the engine itself: an empty log, the events appended, a
// purge, and a stream that is gone (the engine's error, not positions).
func TestBounds(t *testing.T) {
	ctx := t.Context()
	l := openTest(t, Config{})
	if first, last, err := l.Bounds(ctx); err != nil || last != 0 || first > 1 {
		t.Fatalf("empty log: %d-%d, %v", first, last, err)
	}
	if _, err := l.Append(ctx, drafts("app.b", 7)); err != nil {
		t.Fatal(err)
	}
	if first, last, err := l.Bounds(ctx); err != nil || first != 1 || last != 7 {
		t.Fatalf("after 7 appends: %d-%d, %v", first, last, err)
	}
	s, err := l.js.Stream(ctx, l.stream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx, jetstream.WithPurgeKeep(2)); err != nil {
		t.Fatal(err)
	}
	if first, last, err := l.Bounds(ctx); err != nil || first != 6 || last != 7 {
		t.Fatalf("after keeping 2: %d-%d, %v", first, last, err)
	}
	if err := l.js.DeleteStream(ctx, l.stream); err != nil {
		t.Fatal(err)
	}
	_, _, err = l.Bounds(ctx)
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("stream gone: %v, want the engine's stream not found", err)
	}
}

// Without the engine, Bounds is unavailable (a 503 in every dialect), not an
// empty log.
func TestBoundsUnavailable(t *testing.T) {
	l := openTest(t, Config{})
	l.nc.Close()
	if first, last, err := l.Bounds(t.Context()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("%d-%d, %v; want unavailable", first, last, err)
	}
}

func TestStreamBounds(t *testing.T) {
	for _, tc := range []struct {
		data        string
		first, last uint64
		ok          bool
	}{
		{`{"type":"io.nats.jetstream.api.v1.stream_info_response","config":{"name":"EVENTS","subjects":["ev.>"]},"state":{"messages":3,"bytes":90,"first_seq":4,"first_ts":"2026-12-02T10:00:00Z","last_seq":6,"last_ts":"2026-12-02T10:00:01Z","consumer_count":0}}`, 4, 6, true},
		{`{"state":{"first_seq":0,"last_seq":0}}`, 0, 0, true},
		{`{"error":{"code":404,"err_code":10059,"description":"stream not found"}}`, 0, 0, false},
		{`{"config":{"name":"EVENTS"}}`, 0, 0, false},
		{`{"state":{"first_seq":-1}}`, 0, 0, false},
		{``, 0, 0, false},
		// Only the top level's state counts, whatever comes before it.
		{`{"cluster":{"state":{"first_seq":1,"last_seq":1}},"config":{"description":"\\\"state\\\":{"},"state":{"first_seq":7,"last_seq":9}}`, 7, 9, true},
		{`{"type":"state","x":["state",{"state":{}}],"state" :{"first_seq":2,"last_seq":3}}`, 2, 3, true},
	} {
		first, last, err := streamBounds([]byte(tc.data))
		if (err == nil) != tc.ok || first != tc.first || last != tc.last {
			t.Errorf("%s: %d-%d, %v", tc.data, first, last, err)
		}
	}
}

// FuzzStreamBounds: any answer gives positions or an error, never a panic,
// positions only from a state, and the same positions as decoding the
// whole answer wherever that succeeds.
func FuzzStreamBounds(f *testing.F) {
	f.Add([]byte(`{"state":{"first_seq":4,"last_seq":6}}`))
	f.Add([]byte(`{"error":{"code":503,"err_code":10008,"description":"unavailable"}}`))
	f.Add([]byte(`{"cluster":{"state":{"first_seq":1}},"config":{"description":"\\\"state\\\":{"},"state":{"first_seq":7,"last_seq":9}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		first, last, err := streamBounds(data)
		if err != nil && (first != 0 || last != 0) {
			t.Fatalf("%d-%d with %v", first, last, err)
		}
		var whole struct {
			State *streamState `json:"state"`
		}
		if json.Unmarshal(data, &whole) == nil && whole.State != nil &&
			(err != nil || first != whole.State.FirstSeq || last != whole.State.LastSeq) {
			t.Fatalf("%s: %d-%d, %v; decoded whole: %+v", data, first, last, err, *whole.State)
		}
	})
}

// A Log that is its stream's only writer (embedded, no client port) knows
// the last sequence without the engine: what it appended, or found stored
// when it opened; one whose engine other clients may write to does not.
func TestAcked(t *testing.T) {
	dir := t.TempDir()
	l := openTest(t, Config{Dir: dir})
	if last, ok := l.Acked(); !ok || last != 0 {
		t.Fatalf("empty log: %d, %v", last, ok)
	}
	acks, err := l.Append(t.Context(), drafts("app.acked", 3))
	if err != nil {
		t.Fatal(err)
	}
	if last, ok := l.Acked(); !ok || last != acks[2].Seq {
		t.Fatalf("after appending %d: %d, %v", acks[2].Seq, last, ok)
	}
	// A duplicate's ack names the stored event: the last does not move back.
	dup := []Draft{{ID: "once", Topic: "app.acked", Type: "t", Data: json.RawMessage(`{}`)}}
	first, err := l.Append(t.Context(), dup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(t.Context(), drafts("app.acked", 1)); err != nil {
		t.Fatal(err)
	}
	if again, err := l.Append(t.Context(), dup); err != nil || !again[0].Duplicate || again[0].Seq != first[0].Seq {
		t.Fatalf("duplicate: %+v, %v", again, err)
	}
	if last, _ := l.Acked(); last != first[0].Seq+1 {
		t.Fatalf("after a duplicate: %d, want %d", last, first[0].Seq+1)
	}
	l.Close()

	l = openTest(t, Config{Dir: dir})
	if last, ok := l.Acked(); !ok || last != first[0].Seq+1 {
		t.Fatalf("reopened: %d, %v; want %d", last, ok, first[0].Seq+1)
	}
	listening := openTest(t, Config{Listen: "127.0.0.1:0"})
	if _, ok := listening.Acked(); ok {
		t.Fatal("an engine with a client port: Acked claims to know")
	}
}
