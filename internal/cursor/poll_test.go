package cursor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/eventlog/kvtest"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/topic"
)

// countingKV counts Gets and Updates (engine round trips) on a bucket.
type countingKV = kvtest.Counting

// countingLog counts a Store's reads of the log.
type countingLog struct {
	Log
	reads, bounds atomic.Int64
}

func (l *countingLog) Read(ctx context.Context, after uint64, f topic.Filter, max int) ([]eventlog.Event, uint64, error) {
	l.reads.Add(1)
	return l.Log.Read(ctx, after, f, max)
}

func (l *countingLog) Bounds(ctx context.Context) (uint64, uint64, error) {
	l.bounds.Add(1)
	return l.Log.Bounds(ctx)
}

// counted returns a Store over e's bucket and log that counts round trips.
// Its polls hold a change while they wait for as long as they wait: the
// counts do not depend on how soon a poll is woken.
func (e *env) counted() (*Store, *countingKV, *countingLog) {
	kv := &countingKV{KV: e.kv}
	log := &countingLog{Log: e.log}
	s := New(kv, log, e.hub, Config{Now: e.clock})
	s.hold = time.Hour
	return s, kv, log
}

// waitBlocked waits until n subscriptions wait on the hub: an ordering,
// not a timing, condition.
func (e *env) waitBlocked(n int64) {
	for e.hub.Subscribers() < n {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// ackUpTo is a Change acknowledging every event up to seq.
func ackUpTo(seq uint64) func(*State) error {
	return func(c *State) error {
		if seq > c.Acked {
			c.Acked, c.Batch = seq, nil
		}
		return nil
	}
}

type pollResult struct {
	f   Fetched
	err error
}

// TestPollRoundTrips counts what one poll asks of the engine: the state
// it is given is not read again, a poll stores at most one write, a
// waiting poll reads once before it waits (what is stored already is
// answered at once), and a woken poll takes its events from the hub.
func TestPollRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ttl     time.Duration
		pending bool // batch [1] is pending (else acknowledged beforehand)
		ack     bool // the poll acknowledges it
		publish int  // events published before the poll
		wake    int  // events published once it waits
		wait    time.Duration
		// wantEvents are the sequences the poll answers with.
		wantEvents             string
		gets, updates, reads   int64
		wantBatch, wantTimeout bool
	}{
		// A waiting poll reads nothing of the log itself: its hub
		// subscription answers from the window (and catches up from the log
		// only when behind it).
		{name: "woken, with an ack", pending: true, ack: true, wake: 1, wait: time.Hour,
			wantEvents: "[2]", updates: 1, reads: 0, wantBatch: true},
		{name: "woken, nothing to acknowledge", wake: 1, wait: time.Hour,
			wantEvents: "[2]", updates: 1, reads: 0, wantBatch: true},
		{name: "woken, idling out before the wait ends", ttl: time.Minute, pending: true, ack: true, wake: 1, wait: time.Hour,
			wantEvents: "[2]", updates: 2, reads: 0, wantBatch: true}, // kept alive first
		{name: "events pending, waiting", pending: true, ack: true, publish: 1, wait: time.Hour,
			wantEvents: "[2]", updates: 1, reads: 0, wantBatch: true},
		{name: "events pending, not waiting", pending: true, ack: true, publish: 1,
			wantEvents: "[2]", updates: 1, reads: 1, wantBatch: true},
		{name: "nothing new, an ack", pending: true, ack: true,
			wantEvents: "[]", updates: 1, reads: 1},
		{name: "nothing new, nothing changed",
			wantEvents: "[]", updates: 0, reads: 1},
		{name: "batch pending, handed out again", pending: true,
			wantEvents: "[1]", updates: 1, reads: 1, wantBatch: true}, // touched
		{name: "heartbeat", pending: true, ack: true, wait: 20 * time.Millisecond,
			wantEvents: "[]", updates: 1, reads: 0, wantTimeout: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			ctx := context.Background()
			if _, err := e.store.Create(ctx, "q", Spec{IdleTTL: tc.ttl}); err != nil {
				t.Fatal(err)
			}
			e.publish(t, "app.x", 1)
			first, err := e.store.Fetch(ctx, "q", 10, 0)
			if err != nil || first.BatchID == "" {
				t.Fatalf("first batch: %+v, %v", first, err)
			}
			if !tc.pending {
				if first.State, err = e.store.Ack(ctx, "q", first.BatchID); err != nil {
					t.Fatal(err)
				}
			}
			e.publish(t, "app.x", tc.publish)
			s, kv, log := e.counted()
			req := PollRequest{Max: 10, Wait: tc.wait}
			if tc.ack {
				req.Change = ackUpTo(1)
			}
			timeouts := 0
			req.Timeout = func(*State) error { timeouts++; return nil }
			done := make(chan pollResult, 1)
			go func() {
				f, err := s.Poll(ctx, first.State, req)
				done <- pollResult{f, err}
			}()
			var readsBefore int64
			if tc.wake > 0 {
				e.waitBlocked(1)
				readsBefore = log.reads.Load()
				e.publish(t, "app.x", tc.wake)
			}
			r := <-done
			if r.err != nil {
				t.Fatal(r.err)
			}
			if got := seqs(r.f.Events); got != tc.wantEvents || (r.f.BatchID != "") != tc.wantBatch {
				t.Fatalf("events %s batch %q, want %s", got, r.f.BatchID, tc.wantEvents)
			}
			if timeouts > 0 != tc.wantTimeout {
				t.Fatalf("timeout applied %d times", timeouts)
			}
			if g, u, rd := kv.Gets.Load(), kv.Updates.Load(), log.reads.Load(); g != tc.gets || u != tc.updates || rd != tc.reads {
				t.Fatalf("kv gets %d, kv updates %d, log reads %d; want %d, %d, %d", g, u, rd, tc.gets, tc.updates, tc.reads)
			}
			if b := log.bounds.Load(); b != 0 {
				t.Fatalf("%d Bounds calls of its own", b)
			}
			if n := log.reads.Load() - readsBefore; tc.wake > 0 && n != 0 {
				t.Fatalf("%d log reads once woken", n)
			}
			// What the poll returned is what is stored, revision included:
			// the next poll starts from it.
			st, err := e.store.Get(ctx, "q")
			if err != nil || st.rev != r.f.State.rev || st.Acked != r.f.State.Acked {
				t.Fatalf("stored %+v, returned %+v, %v", st, r.f.State, err)
			}
		})
	}
}

// TestPollRacesLoseNothing: a poll from a state another node changed in
// the meantime starts over from the fresh state; both changes survive.
func TestPollRacesLoseNothing(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.store.Create(ctx, "q", Spec{}); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 3)
	b, err := e.store.Fetch(ctx, "q", 2, 0)
	if err != nil || seqs(b.Events) != "[1 2]" {
		t.Fatalf("batch %s, %v", seqs(b.Events), err)
	}
	other := New(e.kv, e.log, e.hub, Config{Now: e.clock})
	if _, err := other.Ack(ctx, "q", b.BatchID); err != nil {
		t.Fatal(err)
	}
	// From the stale state (batch [1 2] pending), acknowledging 1 only.
	applied := 0
	f, err := e.store.Poll(ctx, b.State, PollRequest{Max: 10, Change: func(c *State) error {
		applied++
		return ackUpTo(1)(c)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if seqs(f.Events) != "[3]" || f.State.Acked != 2 || applied != 2 {
		t.Fatalf("events %s, acked %d, change applied %d times", seqs(f.Events), f.State.Acked, applied)
	}
}

// TestPollTwoNodesOneBatch: polls waiting on two nodes are woken by the
// same event; both hand out the one batch that one of them made.
func TestPollTwoNodesOneBatch(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.store.Create(ctx, "q", Spec{})
	if err != nil {
		t.Fatal(err)
	}
	other := New(e.kv, e.log, e.hub, Config{Now: e.clock})
	done := make(chan pollResult, 2)
	for _, s := range []*Store{e.store, other} {
		go func() {
			f, err := s.Poll(ctx, st, PollRequest{Max: 10, Wait: time.Hour, Change: ackUpTo(0)})
			done <- pollResult{f, err}
		}()
	}
	e.waitBlocked(2)
	e.publish(t, "app.x", 1)
	a, b := <-done, <-done
	if a.err != nil || b.err != nil {
		t.Fatal(a.err, b.err)
	}
	if a.f.BatchID == "" || a.f.BatchID != b.f.BatchID || seqs(a.f.Events) != "[1]" || seqs(b.f.Events) != "[1]" {
		t.Fatalf("node 1: %q %s, node 2: %q %s", a.f.BatchID, seqs(a.f.Events), b.f.BatchID, seqs(b.f.Events))
	}
}

// TestPollKeep: events Keep rejects end no batch and, with none kept, the
// position moves past them.
func TestPollKeep(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.store.Create(ctx, "q", Spec{})
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 5)
	even := func(ev *eventlog.Event) bool { return ev.Seq%2 == 0 }
	f, err := e.store.Poll(ctx, st, PollRequest{Max: 10, Keep: even})
	if err != nil || seqs(f.Events) != "[2 4]" || f.State.Batch.Through != 4 || f.State.Batch.Count != 4 {
		t.Fatalf("batch %s %+v, %v", seqs(f.Events), f.State.Batch, err)
	}
	again, err := e.store.Poll(ctx, f.State, PollRequest{Max: 10, Keep: even})
	if err != nil || again.BatchID != f.BatchID || seqs(again.Events) != "[2 4]" {
		t.Fatalf("redelivery %q %s, %v", again.BatchID, seqs(again.Events), err)
	}
	// Only 5 is left, and rejected: no batch, the position moves past it.
	next, err := e.store.Poll(ctx, again.State, PollRequest{Max: 10, Keep: even, Change: ackUpTo(4)})
	if err != nil || next.BatchID != "" || next.State.Acked != 5 {
		t.Fatalf("after the ack: %q acked %d, %v", next.BatchID, next.State.Acked, err)
	}
	// A waiting poll woken by a rejected event waits on.
	done := make(chan pollResult, 1)
	go func() {
		f, err := e.store.Poll(ctx, next.State, PollRequest{Max: 10, Wait: time.Hour, Keep: even})
		done <- pollResult{f, err}
	}()
	e.waitBlocked(1)
	e.publish(t, "app.x", 2) // 6 is kept, 7 is not
	if r := <-done; r.err != nil || seqs(r.f.Events) != "[6]" || r.f.State.Batch.Through != 6 {
		t.Fatalf("woken: %s %+v, %v", seqs(r.f.Events), r.f.State.Batch, r.err)
	}
}

// TestPollCutShortStoresChange: a waiting poll whose context ends still
// stores its Change (an acknowledgement counts).
func TestPollCutShortStoresChange(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.store.Create(ctx, "q", Spec{}); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 1)
	b, err := e.store.Fetch(ctx, "q", 10, 0)
	if err != nil || b.BatchID == "" {
		t.Fatal(b, err)
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan pollResult, 1)
	go func() {
		f, err := e.store.Poll(pctx, b.State, PollRequest{Max: 10, Wait: time.Hour, Change: ackUpTo(1)})
		done <- pollResult{f, err}
	}()
	e.waitBlocked(1)
	cancel()
	if r := <-done; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cut-short poll: %v", r.err)
	}
	st, err := e.store.Get(ctx, "q")
	if err != nil || st.Acked != 1 || st.Batch != nil {
		t.Fatalf("after the cut-short poll: %+v, %v", st, err)
	}
}

// TestPollExpiresWhileWaiting: a cursor whose idle time runs out while a
// poll waits is gone when it wakes, and deleted.
func TestPollExpiresWhileWaiting(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.store.Create(ctx, "q", Spec{IdleTTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan pollResult, 1)
	go func() {
		f, err := e.store.Poll(ctx, st, PollRequest{Max: 10, Wait: time.Hour})
		done <- pollResult{f, err}
	}()
	e.waitBlocked(1)
	e.advance(11 * time.Minute)
	e.publish(t, "app.x", 1)
	if r := <-done; !errors.Is(r.err, ErrNotFound) {
		t.Fatalf("woken after expiry: %+v, %v", r.f, r.err)
	}
	if _, err := e.kv.Get(ctx, "q"); !errors.Is(err, eventlog.ErrKeyNotFound) {
		t.Fatalf("expired cursor still stored: %v", err)
	}
}

// TestPollDeletedWhileWaiting: a cursor deleted (on another node) while a
// poll waits is not written back when the poll wakes.
func TestPollDeletedWhileWaiting(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.store.Create(ctx, "q", Spec{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan pollResult, 1)
	go func() {
		f, err := e.store.Poll(ctx, st, PollRequest{Max: 10, Wait: time.Hour, Change: ackUpTo(0)})
		done <- pollResult{f, err}
	}()
	e.waitBlocked(1)
	other := New(e.kv, e.log, e.hub, Config{Now: e.clock})
	if err := other.Delete(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 1)
	if r := <-done; !errors.Is(r.err, ErrNotFound) {
		t.Fatalf("woken after delete: %+v, %v", r.f, r.err)
	}
	if _, err := e.store.Get(ctx, "q"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted cursor back: %v", err)
	}
}

// plainWaiter is a Waiter that hands out no subscriptions.
type plainWaiter struct{ Waiter }

// TestPollPlainWaiter: over a Waiter that is not the hub, a poll reads,
// waits, and reads again when woken.
func TestPollPlainWaiter(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.store.Create(ctx, "q", Spec{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(e.kv, e.log, plainWaiter{e.hub}, Config{Now: e.clock})
	done := make(chan pollResult, 1)
	go func() {
		f, err := s.Poll(ctx, st, PollRequest{Max: 10, Wait: time.Hour})
		done <- pollResult{f, err}
	}()
	e.waitBlocked(1)
	e.publish(t, "app.x", 1)
	r := <-done
	if r.err != nil || seqs(r.f.Events) != "[1]" {
		t.Fatalf("woken: %s, %v", seqs(r.f.Events), r.err)
	}
	acked, err := s.Ack(ctx, "q", r.f.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Poll(ctx, acked, PollRequest{Max: 10, Wait: 20 * time.Millisecond})
	if err != nil || f.BatchID != "" || f.State.Acked != 1 {
		t.Fatalf("timed out: %q acked %d, %v", f.BatchID, f.State.Acked, err)
	}
}

// TestPollReformKeepsID: a pending batch that req.Change drops is formed
// again from the position; one over the same events is the same batch,
// under the same id, and one over other events is a new batch.
func TestPollReformKeepsID(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.store.Create(ctx, "q", Spec{})
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 3)
	drop := func(c *State) error { c.Batch = nil; return nil }
	first, err := e.store.Poll(ctx, st, PollRequest{Max: 10})
	if err != nil || seqs(first.Events) != "[1 2 3]" {
		t.Fatalf("first: %s, %v", seqs(first.Events), err)
	}
	same, err := e.store.Poll(ctx, first.State, PollRequest{Max: 10, Change: drop})
	if err != nil || same.BatchID != first.BatchID || seqs(same.Events) != "[1 2 3]" {
		t.Fatalf("formed again: %q %s, want %q; %v", same.BatchID, seqs(same.Events), first.BatchID, err)
	}
	smaller, err := e.store.Poll(ctx, same.State, PollRequest{Max: 2, Change: drop})
	if err != nil || smaller.BatchID == first.BatchID || seqs(smaller.Events) != "[1 2]" {
		t.Fatalf("smaller: %q %s; %v", smaller.BatchID, seqs(smaller.Events), err)
	}
	larger, err := e.store.Poll(ctx, smaller.State, PollRequest{Max: 10, Change: drop})
	if err != nil || larger.BatchID == smaller.BatchID || larger.BatchID == first.BatchID || seqs(larger.Events) != "[1 2 3]" {
		t.Fatalf("larger: %q %s; %v", larger.BatchID, seqs(larger.Events), err)
	}
}

// TestPollTidy: Tidy sees the state as the poll stores it, the position
// the poll moved included.
func TestPollTidy(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	st, err := e.store.Create(ctx, "q", Spec{})
	if err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 3)
	tidy := func(c *State) { c.Meta = json.RawMessage(fmt.Sprintf(`{"acked":%d}`, c.Acked)) }
	none := func(*eventlog.Event) bool { return false }
	f, err := e.store.Poll(ctx, st, PollRequest{Max: 10, Keep: none, Tidy: tidy})
	if err != nil || f.BatchID != "" || f.State.Acked != 3 {
		t.Fatalf("poll: %q acked %d, %v", f.BatchID, f.State.Acked, err)
	}
	stored, err := e.store.Get(ctx, "q")
	if err != nil || string(stored.Meta) != `{"acked":3}` || string(f.State.Meta) != `{"acked":3}` {
		t.Fatalf("stored meta %s, returned %s, %v", stored.Meta, f.State.Meta, err)
	}
}

// An ack from the state the caller holds writes once and reads nothing;
// from a state another poll changed since, it reads the cursor again and
// acknowledges on the fresh state, losing neither change.
func TestAckFromHeldState(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.store.Create(ctx, "q", Spec{}); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 2)
	first, err := e.store.Fetch(ctx, "q", 1, 0)
	if err != nil || first.BatchID == "" {
		t.Fatalf("first batch: %+v, %v", first, err)
	}
	s, kv, _ := e.counted()
	st, err := s.AckFrom(ctx, first.State, first.BatchID)
	if err != nil || st.Acked != 1 || st.Batch != nil {
		t.Fatalf("AckFrom = %+v, %v", st, err)
	}
	if g, u := kv.Gets.Load(), kv.Updates.Load(); g != 0 || u != 1 {
		t.Fatalf("kv gets %d, updates %d; want 0, 1", g, u)
	}
	// first.State is stale now: the same batch is gone, and an upto ack
	// from it goes on from the stored position.
	if _, err := s.AckFrom(ctx, first.State, first.BatchID); !errors.Is(err, ErrBatchNotFound) {
		t.Fatalf("AckFrom a stale state, acknowledged batch: %v, want ErrBatchNotFound", err)
	}
	st, err = s.AckUpToFrom(ctx, first.State, 2)
	if err != nil || st.Acked != 2 {
		t.Fatalf("AckUpToFrom a stale state = %+v, %v", st, err)
	}
	if got, err := e.store.Get(ctx, "q"); err != nil || got.Acked != 2 || got.rev != st.rev {
		t.Fatalf("stored %+v, %v; returned rev %d", got, err, st.rev)
	}
}

// State.equal compares every stored field: a poll that compared less would
// skip a write it must make. Each exported field is changed in turn.
func TestStateEqualCoversEveryStoredField(t *testing.T) {
	base := State{ID: "q", Filter: topic.Filter{"app.>"}, Acked: 3, Batch: &Batch{ID: "b", Through: 4, Count: 1},
		Owner: "k", Meta: json.RawMessage(`{"a":1}`), IdleTTL: time.Minute,
		Created: time.Unix(100, 0), LastActive: time.Unix(200, 0)}
	if c := base.clone(); !base.equal(&c) {
		t.Fatal("a clone is not equal")
	}
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		c := base.clone()
		v := reflect.ValueOf(&c).Elem().Field(i)
		switch f.Name {
		case "Filter":
			c.Filter = topic.Filter{"app.x"}
		case "Batch":
			c.Batch = &Batch{ID: "b", Through: 5, Count: 1}
		case "Meta":
			c.Meta = json.RawMessage(`{"a":2}`)
		case "Created", "LastActive":
			v.Set(reflect.ValueOf(time.Unix(300, 0)))
		default:
			switch v.Kind() {
			case reflect.String:
				v.SetString("other")
			case reflect.Uint64:
				v.SetUint(99)
			case reflect.Int64:
				v.SetInt(99)
			default:
				t.Fatalf("field %s: no change written for kind %s", f.Name, v.Kind())
			}
		}
		if base.equal(&c) {
			t.Errorf("a change of %s is not seen", f.Name)
		}
	}
}

// TestPollBrought: a poll that waited elsewhere forms its batch of what
// the wait brought (PollRequest.Brought), with no read, when the wait's
// subscription started at the poll's position with its filter; else, or
// when none of it is kept, it reads as any poll does.
func TestPollBrought(t *testing.T) {
	all := topic.Filter{"app.>"}
	for _, tc := range []struct {
		name       string
		after      uint64       // the wait's subscription started here
		filter     topic.Filter // with this filter
		brought    int          // and brought this many events
		max        int
		change     func(*State) error
		keep       func(*eventlog.Event) bool
		wantEvents string
		reads      int64
	}{
		{name: "at the position", filter: all, brought: 2, max: 10, wantEvents: "[1 2]"},
		{name: "more than a batch", filter: all, brought: 3, max: 2, wantEvents: "[1 2]"},
		{name: "kept in part", filter: all, brought: 2, max: 10,
			keep: func(e *eventlog.Event) bool { return e.Seq%2 == 0 }, wantEvents: "[2]"},
		{name: "none kept", filter: all, brought: 2, max: 10,
			keep: func(e *eventlog.Event) bool { return e.Seq == 3 }, wantEvents: "[3]", reads: 1},
		{name: "position moved since", filter: all, brought: 2, max: 10, change: ackUpTo(1),
			wantEvents: "[2 3]", reads: 1},
		{name: "filter changed since", filter: topic.Filter{"app.x"}, brought: 2, max: 10,
			wantEvents: "[1 2 3]", reads: 1},
		{name: "nothing brought", filter: all, max: 10, wantEvents: "[1 2 3]", reads: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			ctx := context.Background()
			st, err := e.store.Create(ctx, "q", Spec{Filter: all})
			if err != nil {
				t.Fatal(err)
			}
			e.publish(t, "app.x", 3)
			for e.hub.Last() < 3 {
				time.Sleep(time.Millisecond)
			}
			var hevs []*hub.Event
			if tc.brought > 0 {
				sub := e.hub.Subscribe(tc.after, tc.filter)
				hevs, _ = sub.PollWindow(nil, tc.brought)
				sub.Close()
			}
			s, kv, log := e.counted()
			f, err := s.Poll(ctx, st, PollRequest{Max: tc.max, Change: tc.change, Keep: tc.keep, Waited: true,
				Brought: &Brought{After: tc.after, Filter: tc.filter, Events: hevs}})
			if err != nil {
				t.Fatal(err)
			}
			if got := seqs(f.Events); got != tc.wantEvents || f.BatchID == "" {
				t.Fatalf("events %s batch %q, want %s", got, f.BatchID, tc.wantEvents)
			}
			if u, rd := kv.Updates.Load(), log.reads.Load(); u != 1 || rd != tc.reads {
				t.Fatalf("kv updates %d, log reads %d; want 1, %d", u, rd, tc.reads)
			}
		})
	}
}
