package kvtest

import (
	"context"
	"errors"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
)

// Revision is the last held write under a prefix, a deletion's included;
// 0 when there is none. Other prefixes' writes do not move it.
func testRevision(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	wantRevision(t, kv, "", 0)
	wantRevision(t, kv, "a.", 0)
	r1 := create(t, kv, "a.one", "1")
	wantRevision(t, kv, "", r1)
	wantRevision(t, kv, "a.", r1)
	wantRevision(t, kv, "b.", 0)
	r2 := put(t, kv, "b.two", "2")
	wantRevision(t, kv, "", r2)
	wantRevision(t, kv, "a.", r1)
	wantRevision(t, kv, "b.", r2)
	put(t, kv, "ab.x", "not the a. subtree")
	wantRevision(t, kv, "a.", r1)
	if err := kv.Delete(ctx, "a.one", 0); err != nil {
		t.Fatal(err)
	}
	w := watch(t, kv, "a.")
	rd := w.wantDeletion("a.one", r1)
	w.wantMarker()
	wantRevision(t, kv, "a.", rd)
	r3 := put(t, kv, "a.deep.key", "3")
	wantRevision(t, kv, "a.", r3)
	wantRevision(t, kv, "a.deep.", r3)
	wantRevision(t, kv, "", r3)

	if _, err := kv.Revision(ctx, "a"); err == nil {
		t.Error(`Revision("a"): no error for a prefix without its '.'`)
	}
	long := make([]byte, eventlog.MaxKeyLen)
	for i := range long {
		long[i] = 'k'
	}
	if _, err := kv.Revision(ctx, string(long)+"."); !errors.Is(err, eventlog.ErrInvalidKey) {
		t.Errorf("Revision of a prefix over MaxKeyLen: %v, want ErrInvalidKey", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := kv.Revision(cctx, "a."); err == nil {
		t.Error("Revision with a canceled context succeeded")
	}
}

// A watcher that has seen Revision has seen every write acknowledged
// before it: the replay, and then live writes, reach the revision it
// gave.
func testWatchReachesRevision(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	put(t, kv, "q.one", "1")
	r := put(t, kv, "q.two", "2")
	put(t, kv, "q.one", "1b") // supersedes the first write of q.one
	put(t, kv, "other.x", "x")
	w := watch(t, kv, "q.")
	rev := revision(t, kv, "q.")
	if rev <= r {
		t.Fatalf("Revision %d, not after the write at %d", rev, r)
	}
	reach := func(rev uint64) {
		t.Helper()
		for {
			if e := w.next(); e.Revision >= rev {
				return
			}
		}
	}
	reach(rev)
	w.wantMarker()
	if err := kv.Delete(ctx, "q.two", 0); err != nil {
		t.Fatal(err)
	}
	put(t, kv, "other.y", "y")
	rev = revision(t, kv, "q.")
	if e := w.next(); e.Key != "q.two" || e.Value != nil || e.Revision != rev {
		t.Fatalf("watched %s after the deletion; Revision says %d", show(e), rev)
	}
}

func revision(t *testing.T, kv eventlog.KV, prefix string) uint64 {
	t.Helper()
	rev, err := kv.Revision(t.Context(), prefix)
	if err != nil {
		t.Fatalf("Revision(%q): %v", prefix, err)
	}
	return rev
}

func wantRevision(t *testing.T, kv eventlog.KV, prefix string, want uint64) {
	t.Helper()
	if got := revision(t, kv, prefix); got != want {
		t.Errorf("Revision(%q) = %d, want %d", prefix, got, want)
	}
}
