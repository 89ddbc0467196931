package kvtest

import (
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
)

// KnownRevisions is a KV that can answer Revision without a round trip
// where it is the bucket's only writer (eventlog's natsKV, memkv).
type KnownRevisions interface {
	eventlog.KV
	KnownRevision(prefix string) (uint64, bool)
}

// RunKnownRevision runs the contract of KnownRevision on buckets open
// returns, which have no other writer.
func RunKnownRevision(t *testing.T, open func(t *testing.T) KnownRevisions) {
	t.Run("KnownRevision", func(t *testing.T) { testKnownRevision(t, open(t)) })
}

// Once a watch of a prefix has begun, KnownRevision is the revision of the
// last write under it, a deletion's included, as Revision says and the
// watch delivers; other prefixes' writes do not move it.
func testKnownRevision(t *testing.T, kv KnownRevisions) {
	ctx := t.Context()
	before := put(t, kv, "k.before", "0") // held by the watch's initial values
	w := watch(t, kv, "k.")
	w.want("k.before", []byte("0"), before)
	w.wantMarker()
	if rev, ok := kv.KnownRevision("k."); !ok || rev > before {
		t.Fatalf("KnownRevision(\"k.\") once watched = %d, %v; want at most %d, true", rev, ok, before)
	}
	known := func(what string, want uint64) {
		t.Helper()
		rev, ok := kv.KnownRevision("k.")
		if !ok || rev != want {
			t.Fatalf("KnownRevision(\"k.\") after %s = %d, %v; want %d, true", what, rev, ok, want)
		}
		if r := revision(t, kv, "k."); r != rev {
			t.Fatalf("KnownRevision(\"k.\") after %s = %d, Revision %d", what, rev, r)
		}
	}
	r := create(t, kv, "k.a", "1")
	w.want("k.a", []byte("1"), r)
	known("a Create", r)
	r, err := kv.Update(ctx, "k.a", []byte("2"), r)
	if err != nil {
		t.Fatal(err)
	}
	w.want("k.a", []byte("2"), r)
	known("an Update", r)
	r = put(t, kv, "k.deep.b", "3")
	w.want("k.deep.b", []byte("3"), r)
	known("a Put", r)
	if err := kv.Delete(ctx, "k.a", 0); err != nil {
		t.Fatal(err)
	}
	r = w.wantDeletion("k.a", r)
	known("a Delete", r)
	if err := kv.Delete(ctx, "k.deep.b", 1); err == nil {
		t.Fatal("Delete at a stale revision succeeded")
	}
	known("a Delete that lost", r)
	put(t, kv, "kk.x", "not the k. subtree")
	put(t, kv, "other.y", "y")
	known("writes elsewhere", r)
}
