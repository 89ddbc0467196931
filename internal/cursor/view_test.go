package cursor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// gatedKV is a counting bucket whose Revision calls the test may hold:
// while gate is set, each call reports itself on calls and waits for a
// token on release.
type gatedKV struct {
	countingKV
	mu      sync.Mutex
	calls   chan struct{}
	release chan struct{}
}

func (k *gatedKV) Revision(ctx context.Context, prefix string) (uint64, error) {
	k.mu.Lock()
	calls, release := k.calls, k.release
	k.mu.Unlock()
	if calls != nil {
		select {
		case calls <- struct{}{}:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		select {
		case <-release:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return k.countingKV.Revision(ctx, prefix)
}

func (k *gatedKV) gate(on bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if on {
		k.calls, k.release = make(chan struct{}), make(chan struct{})
	} else {
		k.calls, k.release = nil, nil
	}
}

// watched returns a store over a counting bucket whose view of "q." is
// live, and that bucket.
func (e *env) watched(t *testing.T) (*Store, *gatedKV) {
	t.Helper()
	kv := &gatedKV{countingKV: countingKV{KV: e.kv}}
	s := New(kv, e.log, e.hub, Config{Now: e.clock})
	e.watch(t, s)
	return s, kv
}

// watch runs s's view of "q." until the test ends, once it is live.
func (e *env) watch(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.WatchFollowed(ctx, "q.") }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	waitFor(t, "the view to be live", func() bool { return s.views.epoch("q.x") != 0 })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// With a live view, a poll of a cursor this store knows reads nothing:
// the barrier's Revision stands for the read, and a deletion on another
// store (a node without a view) is seen through the watch.
func TestFollowWatched(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	s, kv := e.watched(t)
	st, err := s.Create(ctx, "q.a", Spec{IdleTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	follow := func(st State) (Followed, error) {
		t.Helper()
		return s.Follow(ctx, st, FollowRequest{After: st.Acked, Max: 10})
	}
	count := func(what string, gets, revisions int64, run func()) {
		t.Helper()
		kv.Gets.Store(0)
		kv.Revisions.Store(0)
		run()
		if g, r := kv.Gets.Load(), kv.Revisions.Load(); g != gets || r != revisions {
			t.Errorf("%s: %d reads, %d revision reads; want %d, %d", what, g, r, gets, revisions)
		}
	}
	count("the first poll, of a state it did not read", 1, 1, func() {
		if _, err := follow(st); err != nil {
			t.Fatal(err)
		}
	})
	count("a poll of a known cursor", 0, 1, func() {
		k, ok := s.Known("q.a")
		if !ok {
			t.Fatal("not known after a poll")
		}
		if _, err := follow(k); err != nil {
			t.Fatal(err)
		}
	})
	other := New(e.kv, e.log, e.hub, Config{Now: e.clock})
	// Another node refreshes the idle clock: the watch brings it here.
	e.advance(20 * time.Minute)
	ost, err := other.Get(ctx, "q.a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Follow(ctx, ost, FollowRequest{After: ost.Acked, Max: 10}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refreshed idle clock", func() bool {
		k, ok := s.Known("q.a")
		return ok && k.LastActive.Equal(e.clock())
	})
	// A poll of the state known here, after another node deleted the
	// cursor (taken before, so that it is the refreshed state whether or
	// not the watch has brought the deletion yet).
	k, ok := s.Known("q.a")
	if !ok {
		t.Fatal("not known")
	}
	if err := other.Delete(ctx, "q.a"); err != nil {
		t.Fatal(err)
	}
	count("a poll of a cursor deleted on another node", 0, 1, func() {
		if _, err := follow(k); !errors.Is(err, ErrNotFound) {
			t.Fatalf("poll of a deleted cursor: %v, want ErrNotFound", err)
		}
	})
	if _, ok := s.Known("q.a"); ok {
		t.Fatal("known after its deletion")
	}
	// A read from before the deletion, remembered after it, does not bring
	// the cursor back.
	s.known.put(k, s.views.epoch("q.a"))
	if _, ok := s.Known("q.a"); ok {
		t.Fatal("a stale read resurrected a deleted cursor")
	}
}

// A cursor remembered before the view was live is read once more at the
// end of its next poll (the watch may have missed its deletion); then it
// is trusted.
func TestFollowWatchedLate(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	kv := &gatedKV{countingKV: countingKV{KV: e.kv}}
	s := New(kv, e.log, e.hub, Config{Now: e.clock})
	st, err := s.Create(ctx, "q.a", Spec{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Follow(ctx, st, FollowRequest{Max: 10}); err != nil {
		t.Fatal(err)
	}
	e.watch(t, s)
	for i, want := range []int64{1, 0, 0} {
		kv.Gets.Store(0)
		k, ok := s.Known("q.a")
		if !ok {
			t.Fatal("not known")
		}
		if _, err := s.Follow(ctx, k, FollowRequest{Max: 10}); err != nil {
			t.Fatal(err)
		}
		if n := kv.Gets.Load(); n != want {
			t.Fatalf("poll %d after the view went live: %d reads, want %d", i+1, n, want)
		}
	}
}

// The polls that answer while a barrier's Revision call is under way
// share the next one: a burst costs one call or two, not one a poll, and
// no reads.
func TestFollowBarrierShared(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	s, kv := e.watched(t)
	const polls = 20
	for i := range polls {
		id := fmt.Sprintf("q.%d", i)
		if _, err := s.Create(ctx, id, Spec{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetFollowed(ctx, id); err != nil { // remembered, trusted
			t.Fatal(err)
		}
	}
	kv.Gets.Store(0)
	kv.Revisions.Store(0)
	kv.gate(true)
	calls, release := kv.calls, kv.release
	var wg sync.WaitGroup
	errs := make(chan error, polls)
	for i := range polls {
		wg.Go(func() {
			k, ok := s.Known(fmt.Sprintf("q.%d", i))
			if !ok {
				errs <- fmt.Errorf("q.%d not known", i)
				return
			}
			_, err := s.Follow(ctx, k, FollowRequest{Max: 10})
			errs <- err
		})
	}
	select { // call 1 is under way: the polls arriving now wait for call 2
	case <-calls:
	case <-time.After(20 * time.Second):
		t.Fatal("no barrier's Revision call")
	}
	v := s.views.find("q.0")
	var second bool // some polls joined before call 1 started, the others wait for call 2
	waitFor(t, "every poll to join a call", func() bool {
		second = v.revisions.waiting()
		return v.revisions.joined() == polls
	})
	release <- struct{}{}
	want := int64(1)
	if second {
		<-calls
		release <- struct{}{}
		want = 2
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if g, r := kv.Gets.Load(), kv.Revisions.Load(); g != 0 || r != want {
		t.Fatalf("%d polls: %d reads and %d revision reads, want 0 and %d", polls, g, r, want)
	}
}

// A tombstone outlives a stale read, and gives way to the cursor made
// again (a later revision).
func TestKnownTombstone(t *testing.T) {
	k := known{limit: 8}
	k.put(State{ID: "q.a", rev: 5}, 1)
	k.watched("q.a", 7, nil, 1)
	if _, ok := k.get("q.a"); ok {
		t.Fatal("live after its deletion")
	}
	k.put(State{ID: "q.a", rev: 5}, 1)
	k.forget("q.a")
	if e, ok := k.lookup("q.a"); !ok || !e.gone {
		t.Fatalf("after a stale put and a forget: %+v %v, want the tombstone", e, ok)
	}
	k.watched("q.a", 9, func() (State, error) { return State{ID: "q.a", rev: 9}, nil }, 1)
	if e, ok := k.lookup("q.a"); !ok || e.gone || e.st.rev != 9 || e.epoch != 1 {
		t.Fatalf("made again: %+v %v, want live at revision 9, epoch 1", e, ok)
	}
	k.watched("q.b", 3, func() (State, error) { return State{ID: "q.b", rev: 3}, nil }, 1)
	if _, ok := k.lookup("q.b"); ok {
		t.Fatal("a cursor never served here was remembered from the watch")
	}
}

var _ eventlog.KV = (*gatedKV)(nil)

// heldKV is a counting bucket that knows its last writes (KnownRevision,
// as the engine's bucket does where herald is its only writer), and whose
// watch the test may hold: while held, an entry the watch delivers waits.
type heldKV struct {
	countingKV
	mu   sync.Mutex
	gate chan struct{} // nil: not held; closed when released
}

func (k *heldKV) KnownRevision(prefix string) (uint64, bool) {
	return k.countingKV.KV.(knownRevisions).KnownRevision(prefix)
}

func (k *heldKV) Watch(ctx context.Context, prefix string, fn func(eventlog.Entry)) error {
	return k.countingKV.Watch(ctx, prefix, func(e eventlog.Entry) {
		k.mu.Lock()
		gate := k.gate
		k.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
			}
		}
		fn(e)
	})
}

func (k *heldKV) hold() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gate = make(chan struct{})
}

func (k *heldKV) release() {
	k.mu.Lock()
	defer k.mu.Unlock()
	close(k.gate)
	k.gate = nil
}

// Where the bucket knows its last write, a barrier asks the engine
// nothing, and TryRecheck answers without a wait once the watch has
// delivered that write — never before: a deletion acknowledged, and not
// yet watched, is not answered as a live cursor.
func TestRecheckKnownRevision(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	kv := &heldKV{countingKV: countingKV{KV: e.kv}}
	s := New(kv, e.log, e.hub, Config{Now: e.clock})
	e.watch(t, s)
	st, err := s.Create(ctx, "q.a", Spec{IdleTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Follow(ctx, st, FollowRequest{After: st.Acked, Max: 10}); err != nil {
		t.Fatal(err)
	}
	kv.Gets.Store(0)
	kv.Revisions.Store(0)
	k, ok := s.Known("q.a")
	if !ok {
		t.Fatal("not known after a poll")
	}
	if _, err := s.Follow(ctx, k, FollowRequest{After: k.Acked, Max: 10}); err != nil {
		t.Fatal(err)
	}
	if g, r := kv.Gets.Load(), kv.Revisions.Load(); g != 0 || r != 0 {
		t.Fatalf("a poll of a known cursor: %d reads, %d revision reads; want none", g, r)
	}
	_, m, err := s.FollowPark(ctx, k, FollowRequest{After: k.Acked, Max: 10, Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watch to deliver the poll's writes", func() bool {
		_, ok, _ := s.TryRecheck("q.a", m)
		return ok
	})
	if got, ok, err := s.TryRecheck("q.a", m); !ok || err != nil || got.ID != "q.a" {
		t.Fatalf("TryRecheck of a live cursor: %v, %v, %v", got.ID, ok, err)
	}
	kv.hold()
	other := New(e.kv, e.log, e.hub, Config{Now: e.clock}) // another store on the bucket: no view, its writes are known
	if err := other.Delete(ctx, "q.a"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.TryRecheck("q.a", m); ok {
		t.Fatalf("TryRecheck answered (%v) while the watch had not delivered the deletion", err)
	}
	kv.release()
	waitFor(t, "the watch to deliver the deletion", func() bool {
		_, ok, _ := s.TryRecheck("q.a", m)
		return ok
	})
	if _, ok, err := s.TryRecheck("q.a", m); !ok || !errors.Is(err, ErrNotFound) {
		t.Fatalf("TryRecheck of a deleted cursor: %v, %v; want ErrNotFound", ok, err)
	}
	if g, r := kv.Gets.Load(), kv.Revisions.Load(); g != 0 || r != 0 {
		t.Fatalf("%d reads, %d revision reads; want none", g, r)
	}
}
