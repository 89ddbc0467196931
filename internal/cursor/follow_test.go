package cursor

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

type followResult struct {
	f   Followed
	err error
}

// caughtUp waits until the hub's tail delivered everything published: an
// ordering, not a timing, condition.
func (e *env) caughtUp(t *testing.T) {
	t.Helper()
	_, last, err := e.log.Bounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for e.hub.Last() < last {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// TestFollowRoundTrips counts what a poll of a followed cursor asks of the
// engine: it writes nothing while the cursor's idle clock is fresh; it
// reads the cursor once, before it answers, to see whether it still
// exists; one that does not wait reads the log once (for what the tail has
// not delivered); one that waits takes its events from the hub.
func TestFollowRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ttl     time.Duration
		idle    time.Duration // since the cursor was last stored
		publish int           // events published before the poll
		wake    int           // events published once it waits
		wait    time.Duration
		// want are the sequences the poll answers with, and how far it
		// covered the log.
		want                 string
		through              uint64
		gets, updates, reads int64
	}{
		{name: "woken", wake: 1, wait: time.Hour, want: "[2]", through: 2, gets: 1},
		{name: "events ready, waiting", publish: 2, wait: time.Hour, want: "[2 3]", through: 3, gets: 1},
		{name: "events ready, not waiting", publish: 2, want: "[2 3]", through: 3, gets: 1, reads: 1},
		{name: "nothing, not waiting", want: "[]", through: 1, gets: 1, reads: 1},
		{name: "nothing, the wait passes", wait: 20 * time.Millisecond, want: "[]", through: 1, gets: 1},
		{name: "idle clock fresh", ttl: time.Hour, idle: time.Hour/followRefresh - time.Second, publish: 1,
			want: "[2]", through: 2, gets: 1, reads: 1},
		{name: "idle clock due", ttl: time.Hour, idle: time.Hour / followRefresh, publish: 1,
			want: "[2]", through: 2, gets: 1, updates: 1, reads: 1},
		{name: "idling out before the wait ends", ttl: time.Hour, wake: 1, wait: time.Hour,
			want: "[2]", through: 2, gets: 1, updates: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			ctx := context.Background()
			e.publish(t, "app.x", 1)
			st, err := e.store.Create(ctx, "q", Spec{After: 1, IdleTTL: tc.ttl})
			if err != nil {
				t.Fatal(err)
			}
			e.advance(tc.idle)
			e.publish(t, "app.x", tc.publish)
			e.caughtUp(t)
			s, kv, log := e.counted()
			done := make(chan followResult, 1)
			go func() {
				f, err := s.Follow(ctx, st, FollowRequest{After: 1, Max: 10, Wait: tc.wait})
				done <- followResult{f, err}
			}()
			if tc.wake > 0 {
				e.waitBlocked(1)
				e.publish(t, "app.x", tc.wake)
			}
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if got := seqs(r.f.Events); got != tc.want || r.f.Through != tc.through {
				t.Fatalf("events %s through %d, want %s through %d", got, r.f.Through, tc.want, tc.through)
			}
			if g, u, rd := kv.Gets.Load(), kv.Updates.Load(), log.reads.Load(); g != tc.gets || u != tc.updates || rd != tc.reads {
				t.Fatalf("kv gets %d, kv updates %d, log reads %d; want %d, %d, %d", g, u, rd, tc.gets, tc.updates, tc.reads)
			}
			if b := log.bounds.Load(); b != 0 {
				t.Fatalf("%d Bounds calls of its own", b)
			}
			stored, err := e.store.Get(ctx, "q")
			if err != nil || stored.Acked != 1 || stored.Batch != nil {
				t.Fatalf("stored %+v, %v: a followed cursor's position is not stored", stored, err)
			}
		})
	}
}

// TestFollowIdleClock: polled every tenth of its IdleTTL, a followed cursor
// stores its idle clock every other poll, and lives; left alone after a
// poll that stored nothing, it lives the idle time FollowTTL was given, at
// least.
func TestFollowIdleClock(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	const idle = 10 * time.Minute
	ttl := FollowTTL(idle)
	st, err := e.store.Create(ctx, "q", Spec{IdleTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	s, kv, _ := e.counted()
	for range 21 {
		e.advance(ttl / 10)
		if st, err = s.Get(ctx, "q"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Follow(ctx, st, FollowRequest{Max: 10}); err != nil {
			t.Fatal(err)
		}
	}
	if n := kv.Updates.Load(); n != 10 {
		t.Fatalf("%d writes in 21 polls, want 10", n)
	}
	// The last poll stored nothing (the one before did): the cursor still
	// lives idle after it, and is gone a little later.
	e.advance(idle)
	if _, err := s.Get(ctx, "q"); err != nil {
		t.Fatalf("%s after its last poll: %v", idle, err)
	}
	e.advance(ttl - idle)
	if _, err := s.Get(ctx, "q"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("%s after its last poll: %v", ttl, err)
	}
}

// TestFollowKeep: events Keep rejects are passed over: a poll answers with
// the kept ones, covering the log to the last of them; with none kept, to
// where it looked; a waiting poll woken by a rejected event waits on.
func TestFollowKeep(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.store.Create(ctx, "q", Spec{})
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 5)
	e.caughtUp(t)
	even := func(ev *eventlog.Event) bool { return ev.Seq%2 == 0 }
	for _, wait := range []time.Duration{0, time.Hour} {
		f, err := e.store.Follow(ctx, st, FollowRequest{Max: 10, Keep: even, Wait: wait})
		if err != nil || seqs(f.Events) != "[2 4]" || f.Through != 4 {
			t.Fatalf("wait %s: %s through %d, %v", wait, seqs(f.Events), f.Through, err)
		}
	}
	f, err := e.store.Follow(ctx, st, FollowRequest{After: 4, Max: 10, Keep: even})
	if err != nil || len(f.Events) != 0 || f.Through != 5 {
		t.Fatalf("after 4: %s through %d, %v", seqs(f.Events), f.Through, err)
	}
	done := make(chan followResult, 1)
	go func() {
		f, err := e.store.Follow(ctx, st, FollowRequest{After: 5, Max: 10, Keep: even, Wait: time.Hour})
		done <- followResult{f, err}
	}()
	e.waitBlocked(1)
	e.publish(t, "app.x", 1) // 6 is kept
	if r := <-done; r.err != nil || seqs(r.f.Events) != "[6]" || r.f.Through != 6 {
		t.Fatalf("woken: %s through %d, %v", seqs(r.f.Events), r.f.Through, r.err)
	}
	go func() {
		f, err := e.store.Follow(ctx, st, FollowRequest{After: 6, Max: 10, Keep: even, Wait: time.Hour})
		done <- followResult{f, err}
	}()
	e.waitBlocked(1)
	e.publish(t, "app.x", 2) // 7 is not, 8 is
	if r := <-done; r.err != nil || seqs(r.f.Events) != "[8]" {
		t.Fatalf("woken by 7: %s, %v", seqs(r.f.Events), r.err)
	}
}

// TestFollowGoneWhileWaiting: a cursor deleted on another node, or idled
// out, while a poll waits is gone to that poll when it wakes.
func TestFollowGoneWhileWaiting(t *testing.T) {
	for _, how := range []string{"deleted", "idled out"} {
		t.Run(how, func(t *testing.T) {
			e := setup(t)
			ctx := context.Background()
			st, err := e.store.Create(ctx, "q", Spec{IdleTTL: 2 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan followResult, 1)
			go func() {
				f, err := e.store.Follow(ctx, st, FollowRequest{Max: 10, Wait: time.Hour})
				done <- followResult{f, err}
			}()
			e.waitBlocked(1)
			if how == "deleted" {
				other := New(e.kv, e.log, e.hub, Config{Now: e.clock})
				if err := other.Delete(ctx, "q"); err != nil {
					t.Fatal(err)
				}
			} else {
				e.advance(3 * time.Hour)
			}
			e.publish(t, "app.x", 1)
			if r := <-done; !errors.Is(r.err, ErrNotFound) {
				t.Fatalf("woken: %+v, %v", r.f, r.err)
			}
		})
	}
}

// TestFollowRefreshRace: a cursor whose idle clock another node stored
// first is read again and taken as that node left it (one write lost,
// one read more); one deleted meanwhile is gone.
func TestFollowRefreshRace(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.store.Create(ctx, "q", Spec{IdleTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e.advance(30 * time.Minute)
	other := New(e.kv, e.log, e.hub, Config{Now: e.clock})
	if _, err := other.Follow(ctx, st, FollowRequest{Max: 10}); err != nil {
		t.Fatal(err)
	}
	s, kv, _ := e.counted()
	f, err := s.Follow(ctx, st, FollowRequest{Max: 10}) // from the stale state
	if err != nil || !f.State.LastActive.Equal(e.clock()) || kv.Updates.Load() != 1 || kv.Gets.Load() != 2 {
		t.Fatalf("stale: %+v, %v; %d writes, %d reads", f.State, err, kv.Updates.Load(), kv.Gets.Load())
	}
	if err := other.Delete(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	e.advance(30 * time.Minute)
	if _, err := s.Follow(ctx, f.State, FollowRequest{Max: 10}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
}

// TestFollowBeforeStart: a position before the cursor's start is refused.
func TestFollowBeforeStart(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.publish(t, "app.x", 3)
	st, err := e.store.Create(ctx, "q", Spec{After: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Follow(ctx, st, FollowRequest{After: 1, Max: 10}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("before the start: %v", err)
	}
	if f, err := e.store.Follow(ctx, st, FollowRequest{After: 2, Max: 10}); err != nil || seqs(f.Events) != "[3]" {
		t.Fatalf("at the start: %s, %v", seqs(f.Events), err)
	}
}

// TestFollowPlainWaiter: over a Waiter that is not the hub, a poll reads,
// waits, and reads again when woken.
func TestFollowPlainWaiter(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.store.Create(ctx, "q", Spec{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(e.kv, e.log, plainWaiter{e.hub}, Config{Now: e.clock})
	done := make(chan followResult, 1)
	go func() {
		f, err := s.Follow(ctx, st, FollowRequest{Max: 10, Wait: time.Hour})
		done <- followResult{f, err}
	}()
	e.waitBlocked(1)
	e.publish(t, "app.x", 1)
	if r := <-done; r.err != nil || seqs(r.f.Events) != "[1]" {
		t.Fatalf("woken: %s, %v", seqs(r.f.Events), r.err)
	}
	f, err := s.Follow(ctx, st, FollowRequest{After: 1, Max: 10, Wait: 20 * time.Millisecond})
	if err != nil || len(f.Events) != 0 || f.Through != 1 {
		t.Fatalf("timed out: %s through %d, %v", seqs(f.Events), f.Through, err)
	}
}

func TestFollowTTL(t *testing.T) {
	if got := fmt.Sprint(FollowTTL(10 * time.Minute)); got != "12m30s" {
		t.Fatalf("FollowTTL(10m) = %s", got)
	}
}

// TestFollowKnown: a store remembers the followed cursors it served as it
// last read them, and forgets one that is deleted, found gone, or idled
// out; a poll from a remembered state that is gone answers ErrNotFound.
func TestFollowKnown(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, ok := e.store.Known("q"); ok {
		t.Fatal("known before it exists")
	}
	st, err := e.store.Create(ctx, "q", Spec{IdleTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.store.Known("q"); ok {
		t.Fatal("known before a poll")
	}
	e.advance(30 * time.Minute)
	f, err := e.store.Follow(ctx, st, FollowRequest{Max: 10}) // stores the idle clock
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := e.store.Known("q"); !ok || k.rev != f.State.rev || !k.LastActive.Equal(e.clock()) {
		t.Fatalf("known %+v %v, served %+v", k, ok, f.State)
	}
	e.advance(61 * time.Minute)
	if _, ok := e.store.Known("q"); ok {
		t.Fatal("known once idled out")
	}
	e.advance(-61 * time.Minute)
	other := New(e.kv, e.log, e.hub, Config{Now: e.clock})
	if err := other.Delete(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	k, ok := e.store.Known("q") // deleted elsewhere: still remembered here
	if !ok {
		t.Fatal("forgotten before this store learnt of the delete")
	}
	if _, err := e.store.Follow(ctx, k, FollowRequest{Max: 10}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("poll of a deleted cursor: %v", err)
	}
	if _, ok := e.store.Known("q"); ok {
		t.Fatal("known after a poll found it gone")
	}
	if _, err := other.Create(ctx, "r", Spec{}); err != nil {
		t.Fatal(err)
	}
	r, err := other.Get(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Follow(ctx, r, FollowRequest{Max: 10}); err != nil {
		t.Fatal(err)
	}
	if err := other.Delete(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if _, ok := other.Known("r"); ok {
		t.Fatal("known after its store deleted it")
	}
}
