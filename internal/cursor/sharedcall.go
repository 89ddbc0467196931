package cursor

import (
	"context"
	"sync"
)

// sharedCall lets the callers that arrive while an engine call is under
// way share the next one, as the hub's Now does: a burst of polls then
// costs a call or two, not one each. A caller only takes the answer of a
// call that started after it arrived, so the answer covers every write
// acknowledged before it asked. The calls run one at a time in a
// goroutine of their own under the view's context; wait ends them.
type sharedCall struct {
	mu      sync.Mutex
	closed  bool
	running bool    // a goroutine is making calls
	next    *answer // the call the callers arriving now wait for; nil: none yet
	joins   int     // callers so far (for tests)
	wg      sync.WaitGroup
}

// answer is one call's result, shared by its callers.
type answer struct {
	done chan struct{} // closed when rev and err are set
	rev  uint64
	err  error
}

// do returns the answer of a call of fn (under bg) that starts after do
// was called.
func (g *sharedCall) do(ctx, bg context.Context, fn func(context.Context) (uint64, error)) (uint64, error) {
	a := g.join(bg, fn)
	if a == nil {
		return 0, errViewClosed
	}
	select {
	case <-a.done:
		return a.rev, a.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// join returns the call that starts next, starting the goroutine that
// makes calls if none runs; nil once closed.
func (g *sharedCall) join(bg context.Context, fn func(context.Context) (uint64, error)) *answer {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || bg.Err() != nil {
		return nil
	}
	if g.next == nil {
		g.next = &answer{done: make(chan struct{})}
	}
	a := g.next
	g.joins++
	if !g.running {
		g.running = true
		g.wg.Add(1)
		go g.run(bg, fn)
	}
	return a
}

// run makes calls while callers wait for one.
func (g *sharedCall) run(bg context.Context, fn func(context.Context) (uint64, error)) {
	defer g.wg.Done()
	for {
		g.mu.Lock()
		a := g.next
		g.next = nil
		if a == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		a.rev, a.err = fn(bg)
		close(a.done)
	}
}

// wait refuses new calls and waits for the goroutine making them.
func (g *sharedCall) wait() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
