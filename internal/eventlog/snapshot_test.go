package eventlog

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// A snapshot of the log and of a KV bucket, restored into another data
// directory, gives back the same events at the same positions, with their
// ids still deduplicated, and the same entries.
func TestSnapshotRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := openTest(t, Config{})
	if _, err := src.Append(ctx, drafts("app.a", 300)); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Append(ctx, []Draft{{ID: "mine", Topic: "app.b", Type: "t", Data: []byte(`1`)}}); err != nil {
		t.Fatal(err)
	}
	kv, err := src.KV(ctx, "herald-test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "k.one", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	eng := src.Engine()
	streams, err := eng.Streams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 2 {
		t.Fatalf("streams: %+v", streams)
	}
	snaps := map[string]Snapshot{}
	data := map[string][]byte{}
	for _, s := range streams {
		var buf bytes.Buffer
		snap, err := eng.Snapshot(ctx, s.Name, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if buf.Len() == 0 || snap.Name != s.Name || len(snap.Config) == 0 {
			t.Fatalf("snapshot of %s: %d bytes, %+v", s.Name, buf.Len(), snap.StreamInfo)
		}
		snaps[s.Name], data[s.Name] = snap, buf.Bytes()
	}
	if got := snaps["HERALD"]; got.LastSeq != 301 || got.Messages != 301 {
		t.Fatalf("log snapshot state: %+v", got.StreamInfo)
	}
	// Restoring over the stream it came from is refused: the engine keeps it.
	if _, err := eng.Restore(ctx, snaps["HERALD"], 0, bytes.NewReader(data["HERALD"])); !errors.Is(err, ErrStreamExists) {
		t.Fatalf("restore over an existing stream: %v", err)
	}

	dir := t.TempDir()
	dst, err := OpenEngine(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for name, snap := range snaps {
		st, err := dst.Restore(ctx, snap, 0, bytes.NewReader(data[name]))
		if err != nil {
			t.Fatal(err)
		}
		if st.LastSeq != snap.LastSeq || st.Messages != snap.Messages {
			t.Fatalf("restored %s: %+v, snapshot %+v", name, st, snap.StreamInfo)
		}
	}
	dst.Close()

	l := openTest(t, Config{Dir: dir})
	evs, _, err := l.Read(ctx, 0, nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 301 || evs[300].ID != "mine" || evs[300].Seq != 301 {
		t.Fatalf("restored log: %d events", len(evs))
	}
	acks, err := l.Append(ctx, []Draft{{ID: "mine", Topic: "app.b", Type: "t", Data: []byte(`1`)}})
	if err != nil || !acks[0].Duplicate || acks[0].Seq != 301 {
		t.Fatalf("append of a restored id: %+v %v", acks, err)
	}
	rkv, err := l.KV(ctx, "herald-test")
	if err != nil {
		t.Fatal(err)
	}
	if e, err := rkv.Get(ctx, "k.one"); err != nil || string(e.Value) != "v1" {
		t.Fatalf("restored entry: %q %v", e.Value, err)
	}
}

// A snapshot cut short is not a stream: the engine refuses it and creates
// nothing.
func TestRestoreTruncated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := openTest(t, Config{})
	if _, err := src.Append(ctx, drafts("app.a", 2000)); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	snap, err := src.Engine().Snapshot(ctx, "HERALD", &buf)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := OpenEngine(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := dst.Restore(ctx, snap, 0, bytes.NewReader(buf.Bytes()[:buf.Len()/2])); err == nil {
		t.Fatal("a truncated snapshot was restored")
	}
	streams, err := dst.Streams(ctx)
	if err != nil || len(streams) != 0 {
		t.Fatalf("after a failed restore: %+v %v", streams, err)
	}
}
