// Package sharedcall lets the callers that arrive while a call is under way
// share the next one: a burst of callers then costs a call or two, not one
// each. A caller only takes the answer of a call that started after it
// arrived, so an answer about the engine's state covers every write
// acknowledged before the caller asked — unlike a cache, or joining the
// call in flight. The hub's Now shares its engine calls so (the cursor
// store's barrier may take an earlier call: cursor/revisions.go).
package sharedcall

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is Do's error once the group is closed or its background
// context has ended.
var ErrClosed = errors.New("sharedcall: closed")

// Group shares calls of one function among its callers.
//
// Ownership: the calls run one at a time in a goroutine of the group's own
// (started by the first caller, ended when no caller waits), under the
// background context the callers give; Close waits for it.
type Group[T any] struct {
	mu      sync.Mutex
	closed  bool
	running bool     // a goroutine is making calls
	next    *call[T] // the call the callers arriving now wait for; nil: none yet
	joins   int      // callers so far
	wg      sync.WaitGroup
}

// call is one call's result, shared by its callers.
type call[T any] struct {
	done chan struct{} // closed when v and err are set
	v    T
	err  error
}

// Do returns the answer of a call of fn (made under bg) that starts after
// Do was called, or ctx's error if ctx ends first.
func (g *Group[T]) Do(ctx, bg context.Context, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	c := g.join(bg, fn)
	if c == nil {
		return zero, ErrClosed
	}
	select {
	case <-c.done:
		return c.v, c.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// join returns the call that starts next, starting the goroutine that
// makes calls if none runs; nil once closed.
func (g *Group[T]) join(bg context.Context, fn func(context.Context) (T, error)) *call[T] {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || bg.Err() != nil {
		return nil
	}
	if g.next == nil {
		g.next = &call[T]{done: make(chan struct{})}
	}
	c := g.next
	g.joins++
	if !g.running {
		g.running = true
		g.wg.Add(1)
		go g.run(bg, fn)
	}
	return c
}

// run makes calls while callers wait for one.
func (g *Group[T]) run(bg context.Context, fn func(context.Context) (T, error)) {
	defer g.wg.Done()
	for {
		g.mu.Lock()
		c := g.next
		g.next = nil
		if c == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		c.v, c.err = fn(bg)
		close(c.done)
	}
}

// Close refuses new calls and waits for the goroutine making them.
func (g *Group[T]) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}

// Waiting reports whether callers wait for a call that has not started.
func (g *Group[T]) Waiting() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.next != nil
}

// Joins returns how many callers have joined a call so far.
func (g *Group[T]) Joins() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.joins
}
