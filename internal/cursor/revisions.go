package cursor

import (
	"context"
	"errors"
	"sync"
)

// revisions shares a view's Revision calls (see view) among the polls that
// pass its barrier. A poll may take the answer of a call that started
// after the poll arrived and after the events it answers with were stored:
// the call's start is then a moment the poll's answer holds at, and every
// deletion acknowledged before that moment is in the answer of the call —
// the only ones the poll must see. So the polls one event wakes all take
// the call the first of them starts, under way or done, however late each
// is scheduled: a burst of 5,000 woken polls waits for one call, where
// taking only a call that starts after one's own wake (sharedcall) made
// the polls woken last wait tens of milliseconds for calls of their own.
//
// What a poll answers with is a position, through: the events up to it
// are stored (the hub or the log handed them out), and the engine stores
// events in the order of their positions. A call that starts after some
// poll asked with position p therefore started after every event up to p
// was stored; each call records the highest position asked with before
// it started (pos), and a poll arrived before the call started (since)
// with through ≤ pos may take it.
//
// Ownership: the calls run one at a time in a goroutine of revisions' own
// (started by a caller, ended when no caller waits), under the background
// context the callers give; close waits for it. Everything else is under
// mu.
type revisions struct {
	mu      sync.Mutex
	closed  bool
	started uint64        // calls started so far
	seen    uint64        // the highest position callers asked with
	last    *revisionCall // the call started last, under way or done; nil: none yet
	next    *revisionCall // the call the callers arriving now wait for; nil: none
	running bool          // a goroutine is making calls
	joins   int           // callers so far
	wg      sync.WaitGroup
}

// revisionCall is one call's answer, shared by its callers.
type revisionCall struct {
	n    uint64        // its place among the calls started (from 1)
	pos  uint64        // seen when it started
	done chan struct{} // closed when rev and err are set
	rev  uint64
	err  error
}

// errRevisionsClosed is revision's error once the calls are closed or
// their background context has ended.
var errRevisionsClosed = errors.New("cursor: revision calls closed")

// since returns the token of a poll arriving now: only a call started
// after it may answer the poll.
func (r *revisions) since() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.started
}

// revision returns the answer of a call of fn (made under bg) that
// started after since was taken and after the events up to through were
// stored, or ctx's error if ctx ends first.
func (r *revisions) revision(ctx, bg context.Context, since, through uint64, fn func(context.Context) (uint64, error)) (uint64, error) {
	c := r.join(bg, since, through, fn)
	if c == nil {
		return 0, errRevisionsClosed
	}
	select {
	case <-c.done:
		return c.rev, c.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// join returns a call that answers a caller of since and through: the last
// one started if it does, else the next, starting the goroutine that makes
// calls if none runs; nil once closed.
func (r *revisions) join(bg context.Context, since, through uint64, fn func(context.Context) (uint64, error)) *revisionCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || bg.Err() != nil {
		return nil
	}
	r.joins++
	r.seen = max(r.seen, through)
	if c := r.last; c != nil && c.n > since && c.pos >= through {
		return c
	}
	if r.next == nil {
		r.next = &revisionCall{done: make(chan struct{})}
	}
	if !r.running {
		r.running = true
		r.wg.Add(1)
		go r.run(bg, fn)
	}
	return r.next
}

// run makes calls while callers wait for one.
func (r *revisions) run(bg context.Context, fn func(context.Context) (uint64, error)) {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		c := r.next
		r.next = nil
		if c == nil {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.started++
		c.n, c.pos = r.started, r.seen
		r.last = c
		r.mu.Unlock()
		c.rev, c.err = fn(bg)
		close(c.done)
	}
}

// close refuses new calls and waits for the goroutine making them.
func (r *revisions) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
}

// waiting reports whether callers wait for a call that has not started.
func (r *revisions) waiting() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next != nil
}

// joined returns how many callers have joined a call so far.
func (r *revisions) joined() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.joins
}
