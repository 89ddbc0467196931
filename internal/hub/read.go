package hub

import (
	"context"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// Read is the log's Read served from the in-memory window when the range
// after `after` lies in it (and from the log for what the tail has not
// delivered yet), and from the log otherwise. Pull consumers
// (cursors) use it: a woken long-poll then costs no engine round trip for
// its events. Events in the window are the log's, so the answer is the
// same either way; a position behind the window goes to the log, which
// reports expiry.
func (h *Hub) Read(ctx context.Context, after uint64, f topic.Filter, limit int) ([]eventlog.Event, uint64, error) {
	if limit <= 0 || limit > eventlog.MaxRead {
		limit = eventlog.MaxRead
	}
	out, next, ok := h.readWindow(nil, after, f, limit)
	if !ok {
		return h.log.Read(ctx, after, f, limit)
	}
	if len(out) == limit {
		return out, next, nil
	}
	// The tail may lag the log: what publishers were already told is
	// stored must be read too (a batch is "the oldest pending, up to max",
	// not "what this node has seen"). The log's end, asked after the
	// window was read, tells whether the window held all of it; the
	// readers of a burst share that call (Now).
	last, err := h.Now(ctx)
	if err != nil {
		return nil, after, err
	}
	if last <= next {
		return out, next, nil
	}
	if out, next, ok = h.readWindow(out, next, f, limit-len(out)); !ok { // what the tail delivered meanwhile
		return h.log.Read(ctx, after, f, limit)
	}
	if len(out) == limit || last <= next {
		return out, next, nil
	}
	more, lnext, err := h.log.Read(ctx, next, f, limit-len(out))
	if err != nil {
		return nil, after, err
	}
	return append(out, more...), max(lnext, next), nil // never answer behind what was scanned
}

// readWindow appends to out up to limit events after `after` that the
// window holds and f matches, and returns the position scanned to; ok is
// false when the window cannot answer (after is behind it, or the hub is
// closed).
func (h *Hub) readWindow(out []eventlog.Event, after uint64, f topic.Filter, limit int) (_ []eventlog.Event, next uint64, ok bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.wake == nil || after+1 < h.lo {
		return out, after, false
	}
	if after >= h.hi {
		return out, after, true
	}
	return out, h.scanWindow(after, f, limit, func(e *Event) { out = append(out, e.Event) }), true
}

// Bounds is the log's.
func (h *Hub) Bounds(ctx context.Context) (first, last uint64, err error) {
	return h.log.Bounds(ctx)
}
