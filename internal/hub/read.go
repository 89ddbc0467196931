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
func (h *Hub) Read(ctx context.Context, after uint64, f topic.Filter, max int) ([]eventlog.Event, uint64, error) {
	if max <= 0 || max > eventlog.MaxRead {
		max = eventlog.MaxRead
	}
	h.mu.RLock()
	if h.wake != nil && after < h.hi && after+1 >= h.lo {
		var out []eventlog.Event
		next := h.scanWindow(after, f, max, func(e *Event) { out = append(out, e.Event) })
		hi := h.hi
		h.mu.RUnlock()
		if len(out) == max {
			return out, next, nil
		}
		// The tail may lag the log: what publishers were already told is
		// stored must be read too (a batch is "the oldest pending, up to
		// max", not "what this node has seen"). The log's Read asks the
		// engine for its bounds and answers at once when nothing lies past
		// hi, so it is called directly: one round trip, not two.
		more, next, err := h.log.Read(ctx, hi, f, max-len(out))
		if err != nil {
			return nil, after, err
		}
		if next < hi { // the window was read to hi: never answer behind it
			next = hi
		}
		return append(out, more...), next, nil
	}
	h.mu.RUnlock()
	return h.log.Read(ctx, after, f, max)
}

// Bounds is the log's.
func (h *Hub) Bounds(ctx context.Context) (first, last uint64, err error) {
	return h.log.Bounds(ctx)
}
