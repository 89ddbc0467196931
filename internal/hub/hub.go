// Package hub holds the in-memory window over the log's tail. One tail
// reader per process fills it with recent events, bounded in number and in
// the bytes they keep alive (payloads and their cached wire encodings).
// Readers use it through subscriptions, each a position in the log plus a
// topic filter, not a queue, which read from the window while they are in
// it and from the log when they are behind, so none misses an event; through
// Now, the position "from now"; and through Read, which serves cursors. The
// hub writes to no connection: it hands out shared events and wakes waiters.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/sharedcall"
	"github.com/herald-io/herald/internal/topic"
)

// Log is what the hub needs from the event log. Read's next is the
// position scanned to, never behind after; the hub does not move a reader
// back if it is.
type Log interface {
	Read(ctx context.Context, after uint64, f topic.Filter, max int) ([]eventlog.Event, uint64, error)
	Tail(ctx context.Context, after uint64, fn func(eventlog.Event)) error
	Bounds(ctx context.Context) (first, last uint64, err error)
}

// Config sizes the window.
type Config struct {
	// WindowEvents and WindowBytes bound the in-memory window (defaults
	// 65536 events, 64 MiB): WindowBytes counts what its events keep alive,
	// the payloads, every wire encoding cached on them and a per-event
	// overhead.
	WindowEvents int
	WindowBytes  int64
	// TrimEvery is how often the window drops events that the log's
	// retention removed (default 1s), so that every node answers a read of
	// an expired position the same way: with an error, from the log.
	TrimEvery time.Duration
	Logger    *slog.Logger
}

// Hub is the process's window over the log's tail. It is safe for
// concurrent use.
type Hub struct {
	log     Log
	logger  *slog.Logger
	formats formats
	maxSize int64

	mu    sync.RWMutex
	ring  []*Event     // ring[seq%len(ring)] holds seq for lo <= seq <= hi
	lo    uint64       // oldest seq in the window; lo == hi+1 when empty
	hi    uint64       // newest seq the tail delivered
	size  atomic.Int64 // bytes the window keeps alive; see budget.go
	wake  chan struct{}
	armed atomic.Bool // someone holds wake: close it on the next event

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	subs   atomic.Int64
	now    sharedcall.Group[uint64] // Now's engine calls, shared
}

// Start reads the log's bounds and starts the tail reader: the window begins
// empty at the log's end.
func Start(ctx context.Context, log Log, cfg Config) (*Hub, error) {
	if cfg.WindowEvents <= 0 {
		cfg.WindowEvents = 1 << 16
	}
	if cfg.WindowBytes <= 0 {
		cfg.WindowBytes = 64 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TrimEvery <= 0 {
		cfg.TrimEvery = time.Second
	}
	_, last, err := log.Bounds(ctx)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	h := &Hub{
		log:     log,
		logger:  cfg.Logger,
		maxSize: cfg.WindowBytes,
		ring:    make([]*Event, cfg.WindowEvents),
		lo:      last + 1,
		hi:      last,
		wake:    make(chan struct{}),
	}
	tctx, cancel := context.WithCancel(context.Background())
	h.ctx, h.cancel = tctx, cancel
	h.wg.Add(2)
	go h.run(tctx)
	go h.trimLoop(tctx, cfg.TrimEvery)
	return h, nil
}

// Close stops the tail reader. Subscribers waiting in Next get ErrClosed.
func (h *Hub) Close() {
	h.cancel()
	h.now.Close() // no Now call starts after this
	h.wg.Wait()
	h.mu.Lock()
	if h.wake != nil {
		close(h.wake)
		h.wake = nil
	}
	h.mu.Unlock()
}

// stallPause is how long a catching-up subscriber waits when the log's
// answer did not move it forward.
const stallPause = 50 * time.Millisecond

// ErrClosed is returned by Next once the hub is closed.
var ErrClosed = errors.New("hub closed")

// RegisterFormat returns the format named name, registering enc for it on
// first call. Dialects call it once when they are built.
func (h *Hub) RegisterFormat(name string, enc func(*eventlog.Event) []byte) *Format {
	return h.formats.register(name, enc)
}

// Last returns the newest sequence the hub has seen: "now" for a new live subscriber.
func (h *Hub) Last() uint64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.hi
}

// Subscribers returns how many subscriptions are open.
func (h *Hub) Subscribers() int64 { return h.subs.Load() }

func (h *Hub) run(ctx context.Context) {
	defer h.wg.Done()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.log.Tail(ctx, h.Last(), h.push)
		if ctx.Err() != nil {
			return
		}
		h.logger.Warn("hub: tail stopped; restarting", "err", err, "after", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (h *Hub) trimLoop(ctx context.Context, every time.Duration) {
	defer h.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			first, _, err := h.log.Bounds(ctx)
			if err == nil {
				h.trim(first)
			}
		}
	}
}

// trim drops window events before first, the oldest the log still holds.
func (h *Hub) trim(first uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for h.lo < first && h.lo <= h.hi {
		h.dropOldest()
	}
}

// push appends the tail's next event to the window and wakes waiters.
func (h *Hub) push(ev eventlog.Event) {
	e := &Event{Event: ev}
	cost := eventCost(&ev)
	h.mu.Lock()
	if ev.Seq <= h.hi {
		h.mu.Unlock()
		return // replayed after a tail restart
	}
	if ev.Seq != h.hi+1 {
		// The log skipped ahead (retention removed events the tail had not
		// read): restart the window there; readers behind it go to the log.
		for h.lo <= h.hi {
			h.dropOldest()
		}
		h.lo, h.hi = ev.Seq, ev.Seq-1
	}
	n := uint64(len(h.ring))
	for h.lo <= h.hi && (h.hi+1-h.lo >= n || h.size.Load()+cost > h.maxSize) {
		h.dropOldest()
	}
	e.win = h
	e.held.Store(cost)
	h.ring[ev.Seq%n] = e
	h.hi = ev.Seq
	h.size.Add(cost)
	if h.armed.Swap(false) {
		close(h.wake)
		h.wake = make(chan struct{})
	}
	h.mu.Unlock()
}

// Sub is a live subscription: a position plus a filter. It is not safe for
// concurrent use; each connection owns its own.
type Sub struct {
	h      *Hub
	pos    uint64
	filter topic.Filter
	closed bool
	idle   *time.Timer // NextWithin's, reused
}

// Subscribe returns a subscription delivering events with Seq > after that
// match f. Use Last for "from now". Close it when done.
func (h *Hub) Subscribe(after uint64, f topic.Filter) *Sub {
	h.subs.Add(1)
	return &Sub{h: h, pos: after, filter: f}
}

// Close releases the subscription.
func (s *Sub) Close() {
	if !s.closed {
		s.closed = true
		s.h.subs.Add(-1)
	}
}

// Position returns the sequence up to which the subscription has been
// delivered (or scanned): the resume point.
func (s *Sub) Position() uint64 { return s.pos }

// Filter returns the topics the subscription delivers.
func (s *Sub) Filter() topic.Filter { return s.filter }

// Reset moves the subscription, e.g. to resume at the earliest event after
// the client accepted an expired position.
func (s *Sub) Reset(after uint64) { s.pos = after }

// Next blocks until at least one matching event is available and returns up
// to max of them, oldest first. If the position is older than the log's
// retention it returns an error wrapping *eventlog.ExpiredError and the
// position is unchanged. It returns ctx.Err() when ctx ends first.
func (s *Sub) Next(ctx context.Context, max int) ([]*Event, error) {
	return s.next(ctx, max, true, nil)
}

// NextWithin is Next that gives up after d without events, returning nil,
// nil: streams use it to send keep-alives. It reuses one timer per
// subscription instead of a context per wait, which matters on the fan-out
// path.
func (s *Sub) NextWithin(ctx context.Context, max int, d time.Duration) ([]*Event, error) {
	if s.idle == nil {
		s.idle = time.NewTimer(d)
	} else {
		s.idle.Reset(d)
	}
	defer s.idle.Stop()
	return s.next(ctx, max, true, s.idle.C)
}

// Poll is Next without blocking: it returns what is available now, possibly nothing.
func (s *Sub) Poll(ctx context.Context, max int) ([]*Event, error) {
	return s.next(ctx, max, false, nil)
}

func (s *Sub) next(ctx context.Context, max int, block bool, idle <-chan time.Time) ([]*Event, error) {
	if max <= 0 {
		max = 1
	}
	h := s.h
	for {
		h.mu.RLock()
		if h.wake == nil {
			h.mu.RUnlock()
			return nil, ErrClosed
		}
		switch {
		case s.pos < h.hi && s.pos+1 >= h.lo:
			out := s.scan(max)
			h.mu.RUnlock()
			if !block && len(out) < max {
				// A poll reads its writes: what the tail has not
				// delivered yet comes from the log (as below). If the
				// log cannot answer now, the window's part still counts.
				if h.lacks(ctx, s.pos) {
					if more, err := s.catchUp(ctx, max-len(out)); err == nil {
						out = append(out, more...)
					}
				}
			}
			if len(out) > 0 {
				return out, nil
			}
		case s.pos < h.hi:
			h.mu.RUnlock()
			before := s.pos
			out, err := s.catchUp(ctx, max)
			if err != nil || len(out) > 0 {
				return out, err
			}
			if s.pos == before {
				// The log's answer stopped short of what the tail has
				// seen (its replica is catching up): a poll answers
				// empty, a wait asks again in a moment, not at once.
				if !block {
					return nil, nil
				}
				t := time.NewTimer(stallPause)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil, ctx.Err()
				case <-t.C:
				}
			}
		case !block:
			// The tail may lag the log by a moment: a poll must still see
			// what publishers were already told is stored (read your
			// writes), so it asks the log for what the window lacks (a
			// Read that finds nothing has scanned to the end).
			h.mu.RUnlock()
			if h.lacks(ctx, s.pos) {
				return s.catchUp(ctx, max)
			}
			return nil, nil
		default:
			wake := h.wake
			h.armed.Store(true)
			h.mu.RUnlock()
			select {
			case <-wake:
			case <-idle:
				return nil, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// lacks reports whether the log may hold events after pos acknowledged to
// their publishers before the call (the tail lags, or the engine could not
// say): a poll that reads its writes must then read the log. The polls of
// a burst share the one engine call this makes (Now).
func (h *Hub) lacks(ctx context.Context, pos uint64) bool {
	last, err := h.Now(ctx)
	return err != nil || last > pos
}

// scan collects matching events from the window; h.mu is read-locked.
func (s *Sub) scan(max int) []*Event {
	var out []*Event
	s.pos = s.h.scanWindow(s.pos, s.filter, max, func(e *Event) { out = append(out, e) })
	return out
}

// scanWindow calls fn for up to max events after `after` in the window that
// match f, and returns the position scanned to: the last event handed to fn
// when max were found, else the window's end. h.mu is read-locked and
// after+1 >= h.lo.
func (h *Hub) scanWindow(after uint64, f topic.Filter, max int, fn func(*Event)) uint64 {
	n := uint64(len(h.ring))
	found := 0
	for seq := after + 1; seq <= h.hi; seq++ {
		e := h.ring[seq%n]
		if f.Match(e.Topic) {
			fn(e)
			if found++; found == max {
				return seq
			}
		}
	}
	return h.hi
}

// catchUp reads from the log for a subscriber behind the window.
func (s *Sub) catchUp(ctx context.Context, max int) ([]*Event, error) {
	evs, next, err := s.h.log.Read(ctx, s.pos, s.filter, max)
	if err != nil {
		return nil, fmt.Errorf("hub: catch up after %d: %w", s.pos, err)
	}
	out := make([]*Event, len(evs))
	for i := range evs {
		out[i] = &Event{Event: evs[i]}
	}
	if next > s.pos { // a log answering behind the position must not make it replay
		s.pos = next
	}
	return out, nil
}

// Wait blocks until an event matching f with Seq > after exists, or ctx ends.
// Pull consumers (cursors) use it to long-poll without holding a subscription.
func (h *Hub) Wait(ctx context.Context, after uint64, f topic.Filter) error {
	s := h.Subscribe(after, f)
	defer s.Close()
	_, err := s.Next(ctx, 1)
	return err
}
