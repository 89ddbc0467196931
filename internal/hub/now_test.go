package hub

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// boundsLog is idleLog whose Bounds the test steers: each call reports
// itself on calls and answers what the test sends on answers.
type boundsLog struct {
	idleLog
	calls   chan struct{}
	answers chan uint64
	n       atomic.Int64
}

func (l *boundsLog) Bounds(ctx context.Context) (uint64, uint64, error) {
	if l.n.Add(1) == 1 {
		return 0, 0, nil // Start's own call
	}
	l.calls <- struct{}{}
	select {
	case last := <-l.answers:
		return 1, last, nil
	case <-ctx.Done():
		return 0, 0, ctx.Err()
	}
}

// Callers that arrive while an engine call is under way share the next
// one, and each gets an answer from a call that started after it asked.
func TestNowSharesEngineCalls(t *testing.T) {
	l := &boundsLog{calls: make(chan struct{}), answers: make(chan uint64)}
	h, err := Start(context.Background(), l, Config{TrimEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()

	first := make(chan uint64)
	go func() {
		v, _ := h.Now(ctx)
		first <- v
	}()
	<-l.calls // call 1 is under way: later callers must not take its answer

	const waiters = 50
	var wg sync.WaitGroup
	got := make([]uint64, waiters)
	for i := range waiters {
		wg.Go(func() {
			var err error
			if got[i], err = h.Now(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, func() bool { // every waiter has joined call 2
		return h.now.Waiting()
	})
	time.Sleep(20 * time.Millisecond) // let the stragglers join too
	l.answers <- 5                    // call 1 answers: an old position
	if v := <-first; v != 5 {
		t.Fatalf("first caller: %d, want 5", v)
	}
	<-l.calls // call 2, for all the waiters
	l.answers <- 7
	wg.Wait()
	for i, v := range got {
		if v != 7 {
			t.Fatalf("waiter %d: %d, want 7 (the answer of a call that started after it asked)", i, v)
		}
	}
	if n := l.n.Load() - 1; n != 2 {
		t.Fatalf("%d engine calls for %d callers, want 2", n, waiters+1)
	}
}

// A caller whose context ends stops waiting; the others are not affected,
// and Now after Close fails.
func TestNowContextAndClose(t *testing.T) {
	l := &boundsLog{calls: make(chan struct{}), answers: make(chan uint64)}
	h, err := Start(context.Background(), l, Config{TrimEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan uint64)
	go func() {
		v, _ := h.Now(context.Background())
		first <- v
	}()
	<-l.calls // call 1
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := h.Now(ctx) // waits for call 2
		errc <- err
	}()
	waitFor(t, func() bool {
		return h.now.Waiting()
	})
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled caller: %v", err)
	}
	l.answers <- 3
	if v := <-first; v != 3 {
		t.Fatalf("first caller: %d, want 3", v)
	}
	<-l.calls // call 2 is still made; nobody waits for it
	l.answers <- 4
	h.Close()
	if _, err := h.Now(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

// knowingLog is boundsLog that knows its last sequence itself, as a log
// that is its stream's only writer does, or says it does not.
type knowingLog struct {
	boundsLog
	last  atomic.Uint64
	knows bool
}

func (l *knowingLog) Acked() (uint64, bool) { return l.last.Load(), l.knows }

// A log that knows its last sequence is not asked for its bounds; one
// that does not know is.
func TestNowFromAckedLog(t *testing.T) {
	for _, knows := range []bool{true, false} {
		l := &knowingLog{boundsLog: boundsLog{calls: make(chan struct{}, 1), answers: make(chan uint64, 1)}, knows: knows}
		h, err := Start(context.Background(), l, Config{TrimEvery: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		l.last.Store(7)
		l.answers <- 9 // what the engine would say
		got, err := h.Now(context.Background())
		h.Close()
		asked := len(l.calls) == 1
		switch {
		case err != nil:
			t.Fatalf("knows %v: %v", knows, err)
		case knows && (got != 7 || asked):
			t.Fatalf("a log that knows: %d, engine asked %v; want 7, not asked", got, asked)
		case !knows && (got != 9 || !asked):
			t.Fatalf("a log that does not know: %d, engine asked %v; want 9, asked", got, asked)
		}
	}
}
