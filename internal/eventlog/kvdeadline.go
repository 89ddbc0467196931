package eventlog

import (
	"context"
	"sync"
	"time"
)

// updateSlack is how much later than updateTimeout an update without a
// deadline of its own may give up: the updates sent within it share one
// deadline.
const updateSlack = time.Second

// sharedDeadline bounds the updates sent without a deadline, or a way to
// cancel them, of their own: each gives up between updateTimeout and
// updateTimeout+updateSlack after it was sent, on a timer that all sent
// within updateSlack share. A context with a timer of its own cost each
// poll's write (a poll per batch) more than the rest of its wait for the
// engine: the timer's start and stop, its channel, and their garbage.
type sharedDeadline struct {
	mu   sync.Mutex
	at   time.Time     // when done closes
	done chan struct{} // nil until the first update
}

// context returns parent, which has no Done channel, ending at the
// shared deadline.
func (d *sharedDeadline) context(parent context.Context) context.Context {
	now := time.Now()
	d.mu.Lock()
	if d.done == nil || d.at.Sub(now) < updateTimeout {
		done := make(chan struct{})
		d.at, d.done = now.Add(updateTimeout+updateSlack), done
		time.AfterFunc(updateTimeout+updateSlack, func() { close(done) })
	}
	c := &deadlineCtx{Context: parent, at: d.at, done: d.done}
	d.mu.Unlock()
	return c
}

// deadlineCtx is a context ending when done closes, at at.
type deadlineCtx struct {
	context.Context
	at   time.Time
	done <-chan struct{}
}

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.at, true }
func (c *deadlineCtx) Done() <-chan struct{}       { return c.done }

func (c *deadlineCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
