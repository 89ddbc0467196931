package hub

import (
	"context"
	"time"
)

// Gather adds to evs what arrives within d, up to max events in all: a
// stream that holds its first ready events a moment sends what follows
// closely in the same message (a Hue bridge batches about a second of
// changes, and one write of many events is cheaper than many writes).
// The window starts with the call; d <= 0 adds nothing.
//
// An error ends the window early and is not returned: the events gathered
// are the caller's to send, and the subscription's next call reports the
// error again (an expired position, a closed hub, the end of ctx).
func (s *Sub) Gather(ctx context.Context, evs []*Event, max int, d time.Duration) []*Event {
	deadline := time.Now().Add(d)
	for len(evs) < max {
		wait := time.Until(deadline)
		if wait <= 0 {
			break
		}
		more, err := s.NextWithin(ctx, max-len(evs), wait)
		if err != nil {
			break
		}
		evs = append(evs, more...)
	}
	return evs
}
