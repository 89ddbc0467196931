// Package kvtest is the contract every eventlog.KV meets. One suite runs
// against the NATS KV and against its in-memory twin (memkv), so a test
// that passes on the twin means what it would on the engine: where the two
// differ, a case here fails on one of them.
package kvtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
)

// Run runs the contract; open returns a new, empty bucket on each call.
func Run(t *testing.T, open func(t *testing.T) eventlog.KV) {
	cases := []struct {
		name string
		fn   func(t *testing.T, kv eventlog.KV)
	}{
		{"CreateGet", testCreateGet},
		{"Update", testUpdate},
		{"UpdateAbsent", testUpdateAbsent},
		{"Delete", testDelete},
		{"List", testList},
		{"Prefix", testPrefix},
		{"Keys", testKeys},
		{"LongKeys", testLongKeys},
		{"ValuesCopied", testValuesCopied},
		{"EmptyValue", testEmptyValue},
		{"CanceledContext", testCanceledContext},
		{"RacingWriters", testRacingWriters},
		{"WatchEmpty", testWatchEmpty},
		{"WatchReplay", testWatchReplay},
		{"WatchLive", testWatchLive},
		{"WatchOrder", testWatchOrder},
		{"WatchSlow", testWatchSlow},
		{"Revision", testRevision},
		{"WatchReachesRevision", testWatchReachesRevision},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// Revisions increase across the bucket, Create refuses an existing key,
// Put overwrites, and Get returns what the last write stored.
func testCreateGet(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	if _, err := kv.Get(ctx, "a.one"); !errors.Is(err, eventlog.ErrKeyNotFound) {
		t.Fatalf("Get of a key never written: %v, want ErrKeyNotFound", err)
	}
	r1 := create(t, kv, "a.one", "1")
	if r1 == 0 {
		t.Fatal("Create returned revision 0")
	}
	wantGet(t, kv, "a.one", "1", r1)
	if _, err := kv.Create(ctx, "a.one", []byte("x")); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("Create of an existing key: %v, want ErrConflict", err)
	}
	wantGet(t, kv, "a.one", "1", r1)
	r2 := put(t, kv, "b.two", "2")
	if r2 <= r1 {
		t.Fatalf("Put of another key: revision %d after %d; revisions increase across the bucket", r2, r1)
	}
	r3 := put(t, kv, "a.one", "3")
	if r3 <= r2 {
		t.Fatalf("Put over a.one: revision %d after %d", r3, r2)
	}
	wantGet(t, kv, "a.one", "3", r3)
}

// Update is a compare-and-set on the key's revision.
func testUpdate(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	r1 := create(t, kv, "k", "1")
	other := put(t, kv, "other", "o")
	for _, rev := range []uint64{0, r1 + 100, other} {
		if _, err := kv.Update(ctx, "k", []byte("x"), rev); !errors.Is(err, eventlog.ErrConflict) {
			t.Fatalf("Update at revision %d of a key at %d: %v, want ErrConflict", rev, r1, err)
		}
	}
	wantGet(t, kv, "k", "1", r1)
	r2, err := kv.Update(ctx, "k", []byte("2"), r1)
	if err != nil || r2 <= other {
		t.Fatalf("Update at the current revision: %d, %v", r2, err)
	}
	if _, err := kv.Update(ctx, "k", []byte("3"), r1); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("Update at a stale revision: %v, want ErrConflict", err)
	}
	wantGet(t, kv, "k", "2", r2)
}

// A key that holds nothing is at revision 0: Update at 0 creates it (the
// engine's Create is that update), at any other revision it conflicts.
func testUpdateAbsent(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	r := put(t, kv, "other", "o")
	if _, err := kv.Update(ctx, "absent", []byte("x"), r); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("Update of an absent key at another key's revision: %v, want ErrConflict", err)
	}
	if _, err := kv.Get(ctx, "absent"); !errors.Is(err, eventlog.ErrKeyNotFound) {
		t.Fatalf("a refused Update stored the key: %v", err)
	}
	r2, err := kv.Update(ctx, "absent", []byte("x"), 0)
	if err != nil {
		t.Fatalf("Update of an absent key at revision 0: %v", err)
	}
	wantGet(t, kv, "absent", "x", r2)
}

// Delete removes a key, with a revision only if it is still current; a
// deleted key is absent to Get and List and can be created again.
func testDelete(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	r1 := put(t, kv, "a.x", "1")
	if err := kv.Delete(ctx, "a.x", r1+100); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("Delete at a wrong revision: %v, want ErrConflict", err)
	}
	wantGet(t, kv, "a.x", "1", r1)
	if err := kv.Delete(ctx, "a.x", r1); err != nil {
		t.Fatalf("Delete at the current revision: %v", err)
	}
	if _, err := kv.Get(ctx, "a.x"); !errors.Is(err, eventlog.ErrKeyNotFound) {
		t.Fatalf("Get of a deleted key: %v, want ErrKeyNotFound", err)
	}
	wantList(t, kv, "a.")
	if _, err := kv.Update(ctx, "a.x", []byte("2"), r1); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("Update of a deleted key at its old revision: %v, want ErrConflict", err)
	}
	if err := kv.Delete(ctx, "a.x", 0); err != nil {
		t.Fatalf("Delete of a deleted key: %v", err)
	}
	if err := kv.Delete(ctx, "never", 0); err != nil {
		t.Fatalf("Delete of a key never written: %v", err)
	}
	if err := kv.Delete(ctx, "never.either", r1); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("Delete at a revision of a key never written: %v, want ErrConflict", err)
	}
	r2 := create(t, kv, "a.x", "again")
	if r2 <= r1 {
		t.Fatalf("Create after Delete: revision %d after %d", r2, r1)
	}
	wantGet(t, kv, "a.x", "again", r2)
	wantList(t, kv, "a.", eventlog.Entry{Key: "a.x", Value: []byte("again"), Revision: r2})
}

// List returns a prefix's live entries in the order they were written.
func testList(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	wantList(t, kv, "")
	var all []eventlog.Entry
	for _, k := range []string{"a.two.deep", "b.one", "a", "ab.x", "a.one", "a.gone"} {
		all = append(all, eventlog.Entry{Key: k, Value: []byte(k), Revision: put(t, kv, k, k)})
	}
	if err := kv.Delete(ctx, "a.gone", 0); err != nil {
		t.Fatal(err)
	}
	all = all[:len(all)-1]
	wantList(t, kv, "a.", all[0], all[4])
	wantList(t, kv, "", all...)
	wantList(t, kv, "b.", all[1])
	wantList(t, kv, "a.two.", all[0])
	wantList(t, kv, "zz.")
	// Rewriting a key moves it to the end.
	all[0].Value = []byte("new")
	all[0].Revision = put(t, kv, "a.two.deep", "new")
	wantList(t, kv, "a.", all[4], all[0])
}

// A prefix is empty or a subtree ending in "."; anything else is refused
// by List and Watch alike.
func testPrefix(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	put(t, kv, "a.x", "1")
	for _, p := range []string{"a", "a.x", ".", "a..", ".a."} {
		if ents, err := kv.List(ctx, p); err == nil {
			t.Errorf("List(%q) = %v, want an error", p, ents)
		}
		// A watch that accepts the prefix delivers at least the marker,
		// which ends it; one that refuses it returns at once.
		wctx, cancel := context.WithCancel(ctx)
		if err := kv.Watch(wctx, p, func(eventlog.Entry) { cancel() }); err == nil {
			t.Errorf("Watch(%q) accepted the prefix", p)
		}
		cancel()
	}
}

// Keys are dot-separated tokens of letters, digits and "-_=/"; any other key
// is refused by every method and stores nothing.
func testKeys(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	good := "Az09-_=/.x"
	wantGet(t, kv, good, "v", put(t, kv, good, "v"))
	bad := []string{"", ".a", "a.", "a..b", "a b", "a*", "a.>", "ü", "a\x00", "a\tb", "a\u200bb"}
	for _, k := range bad {
		if _, err := kv.Put(ctx, k, []byte("v")); err == nil {
			t.Errorf("Put(%q) succeeded", k)
		}
		if _, err := kv.Create(ctx, k, []byte("v")); err == nil {
			t.Errorf("Create(%q) succeeded", k)
		}
		if _, err := kv.Update(ctx, k, []byte("v"), 0); err == nil {
			t.Errorf("Update(%q) succeeded", k)
		}
		if err := kv.Delete(ctx, k, 0); err == nil {
			t.Errorf("Delete(%q) succeeded", k)
		}
		if _, err := kv.Get(ctx, k); err == nil || errors.Is(err, eventlog.ErrConflict) {
			t.Errorf("Get(%q): %v, want an invalid-key error", k, err)
		}
	}
	wantList(t, kv, "", eventlog.Entry{Key: good, Value: []byte("v"), Revision: get(t, kv, good).Revision})
}

// A key longer than MaxKeyLen is absent to Get (none can be stored) and
// refused by every other method, and the bucket works on after it: on the
// engine such a key would not fit the protocol line, and the connection it
// was sent on would be closed for good.
func testLongKeys(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	long := "k." + strings.Repeat("x", 5000)
	if _, err := kv.Get(ctx, long); !errors.Is(err, eventlog.ErrKeyNotFound) {
		t.Errorf("Get of a %d-byte key: %.80v, want ErrKeyNotFound", len(long), err)
	}
	for name, call := range map[string]func() error{
		"Create": func() error { _, err := kv.Create(ctx, long, []byte("v")); return err },
		"Update": func() error { _, err := kv.Update(ctx, long, []byte("v"), 1); return err },
		"Put":    func() error { _, err := kv.Put(ctx, long, []byte("v")); return err },
		"Delete": func() error { return kv.Delete(ctx, long, 0) },
		"List":   func() error { _, err := kv.List(ctx, long+"."); return err },
	} {
		if err := call(); !errors.Is(err, eventlog.ErrInvalidKey) {
			t.Errorf("%s of a %d-byte key: %.80v, want ErrInvalidKey", name, len(long), err)
		}
	}
	longest := "k." + strings.Repeat("x", eventlog.MaxKeyLen-2)
	wantGet(t, kv, longest, "v", put(t, kv, longest, "v"))
	wantGet(t, kv, "k.short", "v", put(t, kv, "k.short", "v"))
}

// The bucket keeps its own copy of a value, whichever write stored it
// (a caller may reuse its buffer), and hands out copies.
func testValuesCopied(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	v := []byte("abc")
	for _, w := range []struct {
		key   string
		write func() (uint64, error)
	}{
		{"c", func() (uint64, error) { return kv.Create(ctx, "c", v) }},
		{"u", func() (uint64, error) { return kv.Update(ctx, "u", v, 0) }},
		{"k", func() (uint64, error) { return kv.Put(ctx, "k", v) }},
	} {
		rev, err := w.write()
		if err != nil {
			t.Fatal(err)
		}
		copy(v, "XYZ")
		wantGet(t, kv, w.key, "abc", rev)
		copy(v, "abc")
	}
	rev := get(t, kv, "k").Revision
	e := get(t, kv, "k")
	e.Value[0] = 'Y'
	ents, err := kv.List(ctx, "")
	if err != nil || len(ents) != 3 {
		t.Fatalf("List = %v, %v", ents, err)
	}
	for i := range ents {
		ents[i].Value[1] = 'Z'
	}
	wantGet(t, kv, "k", "abc", rev)
}

// An empty value is a value: Get finds it, and Watch tells it from a
// deletion by a non-nil Value.
func testEmptyValue(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	for _, v := range [][]byte{nil, {}} {
		if _, err := kv.Put(ctx, "a.k", v); err != nil {
			t.Fatal(err)
		}
		if e := get(t, kv, "a.k"); len(e.Value) != 0 {
			t.Fatalf("Get of an empty value = %q", e.Value)
		}
	}
	w := watch(t, kv, "a.")
	if e := w.next(); e.Key != "a.k" || e.Value == nil || len(e.Value) != 0 {
		t.Fatalf("watched empty value = %+v, want a.k with a non-nil empty Value", e)
	}
	w.wantMarker()
}

// A call whose context has ended fails and writes nothing.
func testCanceledContext(t *testing.T, kv eventlog.KV) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := kv.Put(ctx, "k", []byte("v")); err == nil {
		t.Error("Put with a canceled context succeeded")
	}
	if _, err := kv.Create(ctx, "k", []byte("v")); err == nil {
		t.Error("Create with a canceled context succeeded")
	}
	if _, err := kv.Update(ctx, "k", []byte("v"), 0); err == nil {
		t.Error("Update with a canceled context succeeded")
	}
	if _, err := kv.Get(ctx, "k"); err == nil || errors.Is(err, eventlog.ErrKeyNotFound) {
		t.Errorf("Get with a canceled context: %v, want the context's error", err)
	}
	if _, err := kv.List(ctx, ""); err == nil {
		t.Error("List with a canceled context succeeded")
	}
	wantList(t, kv, "")
}

// Of writers racing on one revision exactly one wins, and concurrent
// writes get distinct revisions.
func testRacingWriters(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	const n = 8
	rev := create(t, kv, "k", "start")
	var wg sync.WaitGroup
	won := make(chan string, 2*n)
	created := make(chan string, n)
	revs := make(chan uint64, n*5)
	for i := range n {
		wg.Go(func() {
			v := fmt.Sprint(i)
			if _, err := kv.Update(ctx, "k", []byte(v), rev); err == nil {
				won <- v
			} else if !errors.Is(err, eventlog.ErrConflict) {
				t.Errorf("racing Update: %v", err)
			}
			if _, err := kv.Create(ctx, "c", []byte(v)); err == nil {
				created <- v
			} else if !errors.Is(err, eventlog.ErrConflict) {
				t.Errorf("racing Create: %v", err)
			}
			for j := range 5 {
				r, err := kv.Put(ctx, fmt.Sprintf("p.%d.%d", i, j), nil)
				if err != nil {
					t.Error(err)
					return
				}
				revs <- r
			}
		})
	}
	wg.Wait()
	close(won)
	close(created)
	close(revs)
	if w := drain(won); len(w) != 1 {
		t.Fatalf("%d racing Updates at one revision won: %v", len(w), w)
	} else if e := get(t, kv, "k"); string(e.Value) != w[0] {
		t.Fatalf("k = %q, want the winner's %q", e.Value, w[0])
	}
	if c := drain(created); len(c) != 1 {
		t.Fatalf("%d racing Creates won: %v", len(c), c)
	}
	seen := map[uint64]bool{}
	for r := range revs {
		if seen[r] {
			t.Fatalf("revision %d given to two writes", r)
		}
		seen[r] = true
	}
}
