package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herald-io/herald/internal/sharedcall"
)

// nowTimeout bounds one engine call made for Now's callers.
const nowTimeout = 5 * time.Second

// Now returns the log's last sequence, or the hub's if it is ahead: the
// position "from now" for a new reader. Unlike Last it includes events
// acknowledged to publishers that the tail has not delivered yet, so a
// client that publishes and then subscribes "from now" does not get them.
func (h *Hub) Now(ctx context.Context) (uint64, error) {
	if l, ok := h.log.(ackedLog); ok {
		if last, ok := l.Acked(); ok {
			return max(last, h.Last()), nil
		}
	}
	last, err := h.now.Do(ctx, h.ctx, h.bounds)
	switch {
	case errors.Is(err, sharedcall.ErrClosed):
		return 0, fmt.Errorf("hub: %w", ErrClosed)
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return 0, err
	case err != nil:
		return 0, fmt.Errorf("hub: %w", err)
	}
	return max(last, h.Last()), nil
}

// ackedLog is a log that may know its last sequence without asking the
// engine (eventlog.Log.Acked: where it is the stream's only writer).
type ackedLog interface {
	Acked() (last uint64, ok bool)
}

// bounds is one engine call made for Now's callers (h.now shares it: a
// reconnect storm — thousands of streams opening "from now" at once after
// a restart — then costs a few engine calls, not one each).
func (h *Hub) bounds(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, nowTimeout)
	defer cancel()
	_, last, err := h.log.Bounds(ctx)
	return last, err
}
