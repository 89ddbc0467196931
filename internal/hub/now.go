package hub

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// nowTimeout bounds one engine call made for Now's callers.
const nowTimeout = 5 * time.Second

// nowGroup lets the Now callers that arrive while an engine call is under
// way share the next one. A reconnect storm — thousands of streams opening
// "from now" at once after a restart — then costs a few engine calls, not
// one each (each is a JetStream API request with a JSON answer of its own).
// A caller only takes the answer of a call that started after it arrived,
// so the answer still includes everything acknowledged before it asked.
type nowGroup struct {
	mu      sync.Mutex
	running bool     // a goroutine is making calls
	next    *nowCall // the call the callers arriving now wait for; nil: none yet
}

// nowCall is one engine call and the callers' shared answer.
type nowCall struct {
	done chan struct{} // closed when last and err are set
	last uint64
	err  error
}

// Now returns the log's last sequence, or the hub's if it is ahead: the
// position "from now" for a new reader. Unlike Last it includes events
// acknowledged to publishers that the tail has not delivered yet, so a
// client that publishes and then subscribes "from now" does not get them.
func (h *Hub) Now(ctx context.Context) (uint64, error) {
	c := h.joinNow()
	if c == nil {
		return 0, fmt.Errorf("hub: %w", ErrClosed)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if c.err != nil {
		return 0, fmt.Errorf("hub: %w", c.err)
	}
	return max(c.last, h.Last()), nil
}

// joinNow returns the call that will start next, starting the goroutine
// that makes calls if none runs; nil once the hub is closed.
func (h *Hub) joinNow() *nowCall {
	g := &h.now
	g.mu.Lock()
	defer g.mu.Unlock()
	if h.ctx.Err() != nil {
		return nil
	}
	if g.next == nil {
		g.next = &nowCall{done: make(chan struct{})}
	}
	c := g.next
	if !g.running {
		g.running = true
		h.wg.Add(1)
		go h.makeNowCalls()
	}
	return c
}

// makeNowCalls makes engine calls while callers wait for one.
func (h *Hub) makeNowCalls() {
	defer h.wg.Done()
	g := &h.now
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
		ctx, cancel := context.WithTimeout(h.ctx, nowTimeout)
		_, c.last, c.err = h.log.Bounds(ctx)
		cancel()
		close(c.done)
	}
}
