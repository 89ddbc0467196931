package cursor

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// A call answers the polls that arrived before it started and whose
// events were stored before it started, whenever they ask — under way or
// done; a poll that arrived after it started, or answers with events
// stored after, waits for the next call.
func TestRevisionsShared(t *testing.T) {
	var r revisions
	defer r.close()
	ctx := context.Background()
	var calls atomic.Uint64
	started, release := make(chan struct{}), make(chan struct{})
	fn := func(context.Context) (uint64, error) {
		n := calls.Add(1)
		started <- struct{}{}
		<-release
		return 100 * n, nil
	}
	type answer struct{ rev uint64 }
	ask := func(since, through uint64) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			rev, err := r.revision(ctx, ctx, since, through, fn)
			if err != nil {
				t.Error(err)
			}
			ch <- answer{rev}
		}()
		return ch
	}
	expect := func(what string, ch <-chan answer, want uint64) {
		t.Helper()
		select {
		case a := <-ch:
			if a.rev != want {
				t.Errorf("%s: revision %d, want %d", what, a.rev, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no answer", what)
		}
	}
	early := r.since() // arrived before any call
	a := ask(early, 10)
	<-started // call 1 is under way, its position 10
	joined := func(n int) {
		t.Helper()
		waitFor(t, "the callers to join", func() bool { return r.joined() == n })
	}
	b := ask(early, 10) // woken late: takes call 1
	joined(2)
	late := r.since() // arrived after call 1 started
	c := ask(late, 10)
	d := ask(early, 11) // answers with an event stored after call 1 started
	joined(4)
	if !r.waiting() {
		t.Fatal("no caller waits for call 2")
	}
	release <- struct{}{}
	expect("a poll that started call 1", a, 100)
	expect("a poll woken late", b, 100)
	<-started
	release <- struct{}{}
	expect("a poll that arrived after call 1 started", c, 200)
	expect("a poll past call 1's position", d, 200)
	// Call 2 is done: a poll that arrived before it started, with events
	// stored before, takes it at once.
	expect("a poll asking after call 2 ended", ask(early, 11), 200)
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}
