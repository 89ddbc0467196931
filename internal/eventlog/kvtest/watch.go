package kvtest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// A watch of an empty bucket starts with the end-of-replay marker.
func testWatchEmpty(t *testing.T, kv eventlog.KV) {
	w := watch(t, kv, "")
	w.wantMarker()
	r := put(t, kv, "a.x", "1")
	w.want("a.x", []byte("1"), r)
}

// The replay is the prefix's latest write per key in the order written,
// deletions included (nil Value), then the marker.
func testWatchReplay(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	put(t, kv, "a.one", "1")
	r2 := put(t, kv, "a.two", "2")
	put(t, kv, "b.x", "other")
	rg := put(t, kv, "a.gone", "g")
	if err := kv.Delete(ctx, "a.gone", rg); err != nil {
		t.Fatal(err)
	}
	r4 := put(t, kv, "a.one", "1b")
	w := watch(t, kv, "a.")
	w.want("a.two", []byte("2"), r2)
	rd := w.wantDeletion("a.gone", rg)
	if rd >= r4 {
		t.Fatalf("deletion at revision %d, after the later Put's %d", rd, r4)
	}
	w.want("a.one", []byte("1b"), r4)
	w.wantMarker()
}

// After the replay a watch delivers every write to its prefix, deletions
// included, and nothing else; it returns nil once its context ends.
func testWatchLive(t *testing.T, kv eventlog.KV) {
	ctx := t.Context()
	r0 := put(t, kv, "a.old", "0")
	w := watch(t, kv, "a.")
	w.want("a.old", []byte("0"), r0)
	w.wantMarker()

	put(t, kv, "b.y", "other prefix")
	put(t, kv, "ab.z", "not the a. subtree")
	r1 := create(t, kv, "a.new", "1")
	w.want("a.new", []byte("1"), r1)
	r2, err := kv.Update(ctx, "a.new", []byte("2"), r1)
	if err != nil {
		t.Fatal(err)
	}
	w.want("a.new", []byte("2"), r2)
	if err := kv.Delete(ctx, "a.new", r2); err != nil {
		t.Fatal(err)
	}
	rd := w.wantDeletion("a.new", r2)
	// Deleting what is already gone still writes a deletion.
	if err := kv.Delete(ctx, "a.never", 0); err != nil {
		t.Fatal(err)
	}
	rn := w.wantDeletion("a.never", rd)
	// A deleted key is at its deletion's revision.
	if _, err := kv.Update(ctx, "a.never", []byte("n"), rn-1); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("Update of a deleted key before its deletion's revision: %v, want ErrConflict", err)
	}
	ru, err := kv.Update(ctx, "a.never", []byte("n"), rn)
	if err != nil {
		t.Fatalf("Update of a deleted key at its deletion's revision: %v", err)
	}
	w.want("a.never", []byte("n"), ru)
	r3 := create(t, kv, "a.new", "3")
	if r3 <= ru {
		t.Fatalf("Create after the deletions: revision %d after %d", r3, ru)
	}
	w.want("a.new", []byte("3"), r3)
	// A refused write delivers nothing: the next entry is the next write.
	if _, err := kv.Update(ctx, "a.new", []byte("x"), r1); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("stale Update: %v", err)
	}
	r4 := put(t, kv, "a.last", "4")
	w.want("a.last", []byte("4"), r4)
	w.stop()
	put(t, kv, "a.after", "not watched")
}

// Concurrent writes reach a watch once each, in revision order.
func testWatchOrder(t *testing.T, kv eventlog.KV) {
	w := watch(t, kv, "")
	w.wantMarker()
	const writers, each = 4, 25
	var mu sync.Mutex
	revs := map[string]uint64{}
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for j := range each {
				k := fmt.Sprintf("w%d.%d", i, j)
				r, err := kv.Put(t.Context(), k, []byte(k))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				revs[k] = r
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var last uint64
	for range writers * each {
		e := w.next()
		if e.Revision <= last || e.Revision != revs[e.Key] || string(e.Value) != e.Key {
			t.Fatalf("watched %s after revision %d; the Put of %q returned %d", show(e), last, e.Key, revs[e.Key])
		}
		last = e.Revision
		delete(revs, e.Key)
	}
	if len(revs) != 0 {
		t.Fatalf("writes never watched: %v", revs)
	}
}

// A watcher that is slow to take its entries does not hold up writers,
// and loses nothing.
func testWatchSlow(t *testing.T, kv eventlog.KV) {
	release := make(chan struct{})
	var once sync.Once
	w := watchFn(t, kv, "", func(e eventlog.Entry) {
		if e.Key != "" {
			once.Do(func() { <-release })
		}
	})
	w.wantMarker()
	const n = 100
	wrote := make(chan []uint64, 1)
	go func() {
		var revs []uint64
		for i := range n {
			r, err := kv.Put(t.Context(), fmt.Sprintf("k.%d", i), []byte("v"))
			if err != nil {
				t.Error(err)
				break
			}
			revs = append(revs, r)
		}
		wrote <- revs
	}()
	var revs []uint64
	select {
	case revs = <-wrote:
	case <-time.After(hang):
		t.Fatal("writers blocked behind a watcher that is not taking its entries")
	}
	close(release)
	for i, r := range revs {
		w.want(fmt.Sprintf("k.%d", i), []byte("v"), r)
	}
}

// RunTTL checks a bucket whose keys expire: open returns a new, empty
// bucket whose keys live ttl after their last write.
func RunTTL(t *testing.T, open func(t *testing.T, ttl time.Duration) eventlog.KV) {
	t.Run("TTL", func(t *testing.T) { testTTL(t, open) })
}

func testTTL(t *testing.T, open func(t *testing.T, ttl time.Duration) eventlog.KV) {
	const ttl = time.Second
	kv := open(t, ttl)
	ctx := t.Context()
	w := watch(t, kv, "g.")
	w.wantMarker()
	rg := put(t, kv, "g.gone", "g")
	w.want("g.gone", []byte("g"), rg)
	for deadline := time.Now().Add(ttl + hang); ; time.Sleep(ttl / 10) {
		put(t, kv, "kept", "k")
		_, err := kv.Get(ctx, "g.gone")
		if errors.Is(err, eventlog.ErrKeyNotFound) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("Get of a key not written for %v: %v", ttl, err)
		}
	}
	kept := get(t, kv, "kept")
	wantList(t, kv, "", kept)
	// An expired key holds nothing: its old revision is stale, and it can
	// be created again.
	if _, err := kv.Update(ctx, "g.gone", []byte("x"), rg); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("Update of an expired key at its old revision: %v, want ErrConflict", err)
	}
	// Expiry is silent: the watch's next entry is the next write.
	r := create(t, kv, "g.gone", "again")
	w.want("g.gone", []byte("again"), r)
}
