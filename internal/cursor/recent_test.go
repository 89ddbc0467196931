package cursor

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRecentLoopOneWrite: a consumer that acknowledges each batch in the
// poll that fetches the next, from the state its store remembers, makes
// one engine round trip per batch: the compare-and-set.
func TestRecentLoopOneWrite(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	s, kv, _ := e.counted()
	if _, err := s.Create(ctx, "q", Spec{}); err != nil {
		t.Fatal(err)
	}
	batch := ""
	for i := range 3 {
		e.publish(t, "app.x", 1)
		st, err := s.Recent(ctx, "q")
		if err != nil {
			t.Fatal(err)
		}
		req := PollRequest{Max: 10}
		if batch != "" {
			req.Change = AckBatch(batch)
		}
		kv.Gets.Store(0)
		kv.Updates.Store(0)
		f, err := s.Poll(ctx, st, req)
		if err != nil || f.BatchID == "" || len(f.Events) != 1 || f.Events[0].Seq != uint64(i+1) {
			t.Fatalf("poll %d: %+v, %v", i, f, err)
		}
		if g, u := kv.Gets.Load(), kv.Updates.Load(); g != 0 || u != 1 {
			t.Fatalf("poll %d: kv gets %d, updates %d; want 0, 1", i, g, u)
		}
		batch = f.BatchID
	}
}

// TestRecentStale: a remembered state that another node changed or deleted
// since is never answered from: a poll that would write nothing, or fail,
// reads the cursor first; an ack refused on it is tried on the stored one.
func TestRecentStale(t *testing.T) {
	ctx := context.Background()
	type nodes struct {
		e           *env
		here, other *Store
		first       Fetched // batch [1] as both nodes last saw it
	}
	start := func(t *testing.T) nodes {
		e := setup(t)
		here, other := e.store, New(e.kv, e.log, e.hub, Config{Now: e.clock})
		if _, err := here.Create(ctx, "q", Spec{}); err != nil {
			t.Fatal(err)
		}
		if _, err := here.Recent(ctx, "q"); err != nil { // remembered from now on
			t.Fatal(err)
		}
		e.publish(t, "app.x", 1)
		first, err := here.Fetch(ctx, "q", 10, 0)
		if err != nil || first.BatchID == "" {
			t.Fatalf("first batch: %+v, %v", first, err)
		}
		return nodes{e, here, other, first}
	}
	recent := func(t *testing.T, n nodes) State {
		t.Helper()
		st, err := n.here.Recent(ctx, "q")
		if err != nil || !st.stale || st.Batch == nil || st.Batch.ID != n.first.BatchID {
			t.Fatalf("Recent = %+v, %v; want the remembered batch", st, err)
		}
		return st
	}

	t.Run("deleted elsewhere, a poll that writes nothing", func(t *testing.T) {
		n := start(t)
		if _, err := n.here.Ack(ctx, "q", n.first.BatchID); err != nil {
			t.Fatal(err)
		}
		st, err := n.here.Recent(ctx, "q")
		if err != nil {
			t.Fatal(err)
		}
		if err := n.other.Delete(ctx, "q"); err != nil {
			t.Fatal(err)
		}
		if f, err := n.here.Poll(ctx, st, PollRequest{Max: 10}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("poll of a cursor deleted elsewhere: %+v, %v; want ErrNotFound", f, err)
		}
	})
	t.Run("acknowledged and fetched elsewhere, acknowledged here", func(t *testing.T) {
		n := start(t)
		st := recent(t, n)
		// The consumer acknowledged [1] and fetched [2] on the other node,
		// then acknowledges [2] here.
		n.e.publish(t, "app.x", 1)
		if _, err := n.other.Ack(ctx, "q", n.first.BatchID); err != nil {
			t.Fatal(err)
		}
		second, err := n.other.Fetch(ctx, "q", 10, 0)
		if err != nil || seqs(second.Events) != "[2]" {
			t.Fatalf("second batch elsewhere: %+v, %v", second, err)
		}
		n.e.publish(t, "app.x", 1)
		f, err := n.here.Poll(ctx, st, PollRequest{Max: 10, Change: AckBatch(second.BatchID)})
		if err != nil || seqs(f.Events) != "[3]" || f.State.Acked != 2 {
			t.Fatalf("ack of the batch made elsewhere: %s acked %d, %v; want [3] after 2", seqs(f.Events), f.State.Acked, err)
		}
		if st, err = n.here.Recent(ctx, "q"); err != nil || !st.stale || st.Batch == nil {
			t.Fatalf("Recent = %+v, %v", st, err)
		}
		if _, err := n.other.AckUpTo(ctx, "q", 3); err != nil {
			t.Fatal(err)
		}
		if _, err := n.here.AckFrom(ctx, st, f.BatchID); !errors.Is(err, ErrBatchNotFound) {
			t.Fatalf("AckFrom of a batch acknowledged elsewhere: %v, want ErrBatchNotFound", err)
		}
	})
	t.Run("acknowledged elsewhere, AckFrom here", func(t *testing.T) {
		n := start(t)
		st := recent(t, n)
		n.e.publish(t, "app.x", 1)
		if _, err := n.other.Ack(ctx, "q", n.first.BatchID); err != nil {
			t.Fatal(err)
		}
		second, err := n.other.Fetch(ctx, "q", 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := n.here.AckFrom(ctx, st, second.BatchID)
		if err != nil || got.Acked != 2 {
			t.Fatalf("AckFrom a remembered state of a batch made elsewhere: %+v, %v", got, err)
		}
	})
	t.Run("made again elsewhere from an earlier start", func(t *testing.T) {
		n := start(t)
		if _, err := n.here.Ack(ctx, "q", n.first.BatchID); err != nil {
			t.Fatal(err)
		}
		st, err := n.here.Recent(ctx, "q")
		if err != nil || st.Acked != 1 {
			t.Fatalf("Recent = %+v, %v", st, err)
		}
		if err := n.other.Delete(ctx, "q"); err != nil {
			t.Fatal(err)
		}
		if _, err := n.other.Create(ctx, "q", Spec{}); err != nil { // from the start: [1] is pending again
			t.Fatal(err)
		}
		f, err := n.here.Poll(ctx, st, PollRequest{Max: 10})
		if err != nil || seqs(f.Events) != "[1]" {
			t.Fatalf("poll of the cursor made again: %s, %v; want [1]", seqs(f.Events), err)
		}
	})
}

// TestAckBatch: an acknowledgement sent again after it was stored (its
// answer lost) is done already; one of a batch never pending is refused.
func TestAckBatch(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.store.Create(ctx, "q", Spec{}); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 2)
	first, err := e.store.Fetch(ctx, "q", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	next, err := e.store.Poll(ctx, first.State, PollRequest{Max: 1, Change: AckBatch(first.BatchID)})
	if err != nil || seqs(next.Events) != "[2]" {
		t.Fatalf("ack and fetch: %s, %v", seqs(next.Events), err)
	}
	again, err := e.store.Poll(ctx, first.State, PollRequest{Max: 1, Change: AckBatch(first.BatchID)})
	if err != nil || again.BatchID != next.BatchID || next.State.Acked != 1 {
		t.Fatalf("the same request again: %+v, %v; want batch %s again", again, err, next.BatchID)
	}
	for _, id := range []string{"", "never"} {
		if _, err := e.store.Poll(ctx, again.State, PollRequest{Max: 1, Change: AckBatch(id)}); !errors.Is(err, ErrBatchNotFound) {
			t.Errorf("ack of %q: %v, want ErrBatchNotFound", id, err)
		}
	}
	if st, err := e.store.Get(ctx, "q"); err != nil || st.Acked != 1 || st.Batch == nil || st.Batch.ID != next.BatchID {
		t.Fatalf("stored %+v, %v", st, err)
	}
}

// TestPollHoldsAChangeOnlyBriefly: a poll that acknowledges and then waits
// stores the acknowledgement on its own once it has held it for s.hold,
// and waits on for the batch.
func TestPollHoldsAChangeOnlyBriefly(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	s, kv, _ := e.counted()
	s.hold = time.Millisecond
	if _, err := s.Create(ctx, "q", Spec{}); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 1)
	first, err := s.Fetch(ctx, "q", 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	kv.Updates.Store(0)
	done := make(chan pollResult, 1)
	go func() {
		f, err := s.Poll(ctx, first.State, PollRequest{Max: 10, Wait: time.Hour, Change: AckBatch(first.BatchID)})
		done <- pollResult{f, err}
	}()
	waitFor(t, "the acknowledgement stored while the poll waits", func() bool {
		st, err := e.store.Get(ctx, "q")
		return err == nil && st.Acked == 1 && st.Batch == nil
	})
	select {
	case r := <-done:
		t.Fatalf("the poll answered before an event came: %+v, %v", r.f, r.err)
	default:
	}
	e.publish(t, "app.x", 1)
	r := <-done
	if r.err != nil || seqs(r.f.Events) != "[2]" {
		t.Fatalf("woken poll: %s, %v", seqs(r.f.Events), r.err)
	}
	if u := kv.Updates.Load(); u != 2 {
		t.Fatalf("%d updates; want 2 (the acknowledgement, the batch)", u)
	}
}

// Only the cursors asked for through Recent are remembered (those of other
// dialects are not kept for nothing), and a deleted one is forgotten.
func TestRecentRemembersWhatItServes(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	s := e.store
	if _, err := s.Create(ctx, "q", Spec{}); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 1)
	if _, err := s.Fetch(ctx, "q", 10, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.recent.get("q"); ok {
		t.Fatal("a cursor read and written without Recent is remembered")
	}
	if _, err := s.Recent(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	f, err := s.Fetch(ctx, "q", 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st, ok := s.recent.get("q"); !ok || st.rev != f.State.rev {
		t.Fatalf("remembered %+v, %v; want the state the fetch stored", st, ok)
	}
	if err := s.Delete(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.recent.get("q"); ok {
		t.Fatal("a deleted cursor is remembered")
	}
}

// TestPollAnswerIsTheCallers: the state a poll answers with shares nothing
// with what the store remembers that a caller may change (the poll hands
// over its own, uncopied): a caller that changes its batch in place, or
// replaces its filter, changes neither what Recent returns nor the next
// poll's batch. (Filter and Meta are shared, and never changed in place.)
func TestPollAnswerIsTheCallers(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	s := e.store
	if _, err := s.Create(ctx, "q", Spec{Filter: []string{"app.>"}}); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.x", 2)
	st, err := s.Recent(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Poll(ctx, st, PollRequest{Max: 1})
	if err != nil || f.BatchID == "" {
		t.Fatalf("poll: %+v, %v", f, err)
	}
	f.State.Filter = []string{"other.>"}
	f.State.Batch.ID, f.State.Batch.Through = "changed", 99
	again, err := s.Recent(ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	if again.Filter[0] != "app.>" || again.Batch.ID != f.BatchID || again.Batch.Through != 1 {
		t.Fatalf("remembered %+v, batch %+v after the caller changed its answer", again, again.Batch)
	}
	g, err := s.Poll(ctx, again, PollRequest{Max: 1})
	if err != nil || g.BatchID != f.BatchID || len(g.Events) != 1 || g.Events[0].Seq != 1 {
		t.Fatalf("poll again: %+v, %v; want batch %s of event 1", g, err, f.BatchID)
	}
}
