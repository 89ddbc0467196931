package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/herald-io/herald/internal/eventlog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// source is a log with events and a bucket, and an archive of it.
func source(t *testing.T) (path string, m Manifest) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := eventlog.Open(ctx, eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var ds []eventlog.Draft
	for i := range 500 {
		ds = append(ds, eventlog.Draft{Topic: "app.x", Type: "t", Data: json.RawMessage(`{"n":` + string(rune('0'+i%10)) + `}`)})
	}
	if _, err := l.Append(ctx, ds); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"herald-keys", "herald-nodes"} {
		kv, err := l.KV(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, "k", []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	a, err := Create(ctx, l.Engine(), CreateOptions{Dir: t.TempDir(), Herald: "test", Skip: []string{"herald-nodes"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	path = filepath.Join(t.TempDir(), "backup.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadFrom(a); err != nil {
		t.Fatal(err)
	}
	return path, a.Manifest
}

func engine(t *testing.T) *eventlog.Engine {
	t.Helper()
	eng, err := eventlog.OpenEngine(eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func streamNames(t *testing.T, eng *eventlog.Engine) []string {
	t.Helper()
	ss, err := eng.Streams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

// The archive lists the buckets, then the log, and not a skipped bucket;
// it restores into an empty engine, and a second restore is refused
// unless forced.
func TestRestoreAndRefuseNotEmpty(t *testing.T) {
	path, m := source(t)
	if len(m.Streams) != 2 || m.Streams[0].Name != "KV_herald-keys" || m.Streams[1].Name != "HERALD" || m.Streams[1].LastSeq != 500 {
		t.Fatalf("manifest: %+v", m.Streams)
	}
	ctx := context.Background()
	eng := engine(t)
	var done, total int64
	if _, err := Restore(ctx, eng, path, RestoreOptions{Progress: func(d, t int64) { done, total = d, t }}); err != nil {
		t.Fatal(err)
	}
	if done != total || total != m.Bytes() {
		t.Fatalf("progress: %d of %d, the archive holds %d", done, total, m.Bytes())
	}
	if _, err := Restore(ctx, eng, path, RestoreOptions{}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore into an engine with state: %v", err)
	}
	if _, err := Restore(ctx, eng, path, RestoreOptions{Force: true}); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	if got := streamNames(t, eng); len(got) != 2 {
		t.Fatalf("streams after a forced restore: %v", got)
	}
}

// What is not a whole, unaltered archive is refused before the engine is
// touched.
func TestRestoreRefusesBadArchives(t *testing.T) {
	path, _ := source(t)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)-2048] ^= 0xff // inside the log's snapshot
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"not an archive", []byte("hello, this is not a tar file\n")},
		{"truncated in the log", good[:len(good)*3/4]},
		{"truncated at a header", good[:1024]},
		{"altered", flipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.tar")
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			eng := engine(t)
			_, err := Restore(context.Background(), eng, p, RestoreOptions{})
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("restore: %v", err)
			}
			if got := streamNames(t, eng); len(got) != 0 {
				t.Fatalf("streams after a refused restore: %v", got)
			}
		})
	}
}

// FuzzReader: whatever the bytes, reading an archive ends in an error or a
// manifest, never a panic, and a manifest it accepts lists the log.
func FuzzReader(f *testing.F) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Manifest{Format: Format, Log: "HERALD", Streams: []Stream{{
		Snapshot: eventlog.Snapshot{Config: json.RawMessage(`{"name":"HERALD"}`), StreamInfo: eventlog.StreamInfo{Name: "HERALD"}},
		File:     snapshotFile("HERALD"), Size: 3, SHA256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"[:64],
	}}})
	if err != nil {
		f.Fatal(err)
	}
	w.Add(bytes.NewReader([]byte("abc")))
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Add([]byte("manifest.json"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Verify(bytes.NewReader(b))
		if err == nil && m.Log == "" {
			t.Fatalf("accepted a manifest without a log: %+v", m)
		}
	})
}
