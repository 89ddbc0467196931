package sharedcall_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/herald-io/herald/internal/sharedcall"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Callers that arrive while a call is under way share the next one, and
// take no answer of a call that started before they asked.
func TestCallersShareTheNextCall(t *testing.T) {
	var g sharedcall.Group[int]
	defer g.Close()
	started, release := make(chan int), make(chan struct{})
	var n atomic.Int32
	fn := func(context.Context) (int, error) {
		i := int(n.Add(1))
		started <- i
		<-release
		return i, nil
	}
	first := make(chan int)
	go func() {
		v, _ := g.Do(context.Background(), context.Background(), fn)
		first <- v
	}()
	<-started // call 1 is under way
	const waiters = 20
	got := make([]int, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() { got[i], _ = g.Do(context.Background(), context.Background(), fn) })
	}
	for g.Joins() < waiters+1 {
		time.Sleep(time.Millisecond)
	}
	if !g.Waiting() {
		t.Fatal("the waiters do not wait for a call of their own")
	}
	release <- struct{}{}
	if v := <-first; v != 1 {
		t.Fatalf("first caller: %d, want call 1's answer", v)
	}
	<-started // call 2, for all the waiters
	release <- struct{}{}
	wg.Wait()
	for i, v := range got {
		if v != 2 {
			t.Fatalf("waiter %d: %d, want call 2's answer", i, v)
		}
	}
	if c := n.Load(); c != 2 {
		t.Fatalf("%d calls for %d callers, want 2", c, waiters+1)
	}
}

// A caller whose context ends stops waiting; after Close, or once the
// background context ends, Do refuses.
func TestContextAndClose(t *testing.T) {
	var g sharedcall.Group[int]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	release := make(chan struct{})
	if _, err := g.Do(ctx, context.Background(), func(context.Context) (int, error) { <-release; return 1, nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("an ended caller: %v", err)
	}
	close(release) // the call nobody waits for ends
	bg, stop := context.WithCancel(context.Background())
	stop()
	if _, err := g.Do(context.Background(), bg, func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, sharedcall.ErrClosed) {
		t.Fatalf("an ended background: %v", err)
	}
	g.Close()
	if _, err := g.Do(context.Background(), context.Background(), func(context.Context) (int, error) { return 1, nil }); !errors.Is(err, sharedcall.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}
