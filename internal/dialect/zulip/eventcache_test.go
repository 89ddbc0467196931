package zulip

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
)

// TestEventCache: an event is prepared once however often, and by however
// many at once, it is asked for; the cache holds about its limit: the
// older generation goes when the newer fills, and an entry asked for again
// moves to the newer.
func TestEventCache(t *testing.T) {
	const limit, in = 4 << 10, 100
	c := newEventCache(limit)
	builds := map[uint64]int{}
	get := func(seq uint64) *prepared {
		return c.get(seq, func() *prepared {
			builds[seq]++
			return &prepared{seq: seq, in: in}
		})
	}
	first := get(1)
	for range 5 {
		if get(1) != first {
			t.Fatal("a second preparation of the same event")
		}
	}
	if builds[1] != 1 {
		t.Fatalf("built %d times", builds[1])
	}
	for seq := uint64(2); seq < 200; seq++ {
		get(seq)
		get(1) // kept in use: never dropped
		if held := len(c.cur) + len(c.old); held > 2*limit/(2*in+entryOverhead)+2 {
			t.Fatalf("seq %d: %d entries held, over the limit", seq, held)
		}
	}
	if builds[1] != 1 || builds[2] != 1 {
		t.Fatalf("builds: %d of the event in use, %d of the oldest", builds[1], builds[2])
	}
	get(2) // dropped long ago: built again
	if builds[2] != 2 {
		t.Fatalf("the oldest event was kept (%d builds)", builds[2])
	}
}

// TestEventCacheOneBuildAtOnce: the queues a message wakes together wait
// for one preparation, and one encoding of each variant; encodings count
// in the cache's size.
func TestEventCacheOneBuildAtOnce(t *testing.T) {
	c := newEventCache(1 << 20)
	var builds atomic.Int64
	var wg sync.WaitGroup
	got := make([]*prepared, 50)
	for i := range got {
		wg.Go(func() {
			got[i] = c.get(7, func() *prepared {
				builds.Add(1)
				return &prepared{seq: 7, ok: true, typ: "reaction", obj: map[string]json.RawMessage{}}
			})
			got[i].encoded(0)
		})
	}
	wg.Wait()
	if n := builds.Load(); n != 1 {
		t.Fatalf("%d preparations", n)
	}
	for _, p := range got {
		if p != got[0] {
			t.Fatal("two preparations handed out")
		}
	}
	if b := string(got[0].encoded(0)); b != `{"id":28672}` {
		t.Fatalf("encoded %s", b)
	}
	if n := c.size.Load(); n != entryOverhead+int64(len(`{"id":28672}`)) {
		t.Fatalf("size %d", n)
	}
}
