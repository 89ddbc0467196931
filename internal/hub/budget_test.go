package hub

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
)

// held is what the window's events keep alive by the test's own count: each
// payload and each encoding built, at its capacity.
func held(h *Hub) (bytes int64, events int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := uint64(len(h.ring))
	for seq := h.lo; seq <= h.hi; seq++ {
		e := h.ring[seq%n]
		bytes += int64(cap(e.Data))
		for i := range e.wire {
			if p := e.wire[i].Load(); p != nil {
				bytes += int64(cap(*p))
			}
		}
		events++
	}
	return bytes, events
}

// windowEvents returns the events in the window, oldest first.
func windowEvents(h *Hub) []*Event {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []*Event
	for seq := h.lo; seq <= h.hi; seq++ {
		out = append(out, h.ring[seq%uint64(len(h.ring))])
	}
	return out
}

// The window counts the encodings it keeps, not only the payloads, and
// stays within its budget once they are built.
func TestWindowCountsEncodings(t *testing.T) {
	const budget = 64 << 10
	h := startIdle(t, Config{WindowBytes: budget})
	twice := h.RegisterFormat("twice", func(e *eventlog.Event) []byte {
		return append(append([]byte{}, e.Data...), e.Data...)
	})
	framed := h.RegisterFormat("framed", func(e *eventlog.Event) []byte {
		return append(append([]byte("data: "), e.Data...), '\n', '\n')
	})
	kib := func(int) []byte { return make([]byte, 1<<10) }
	pushN(h, 1, 200, kib)
	for _, e := range windowEvents(h) {
		e.Wire(twice)
		e.Wire(framed)
	}
	bytes, events := held(h)
	if got := accounted(h); got < bytes {
		t.Errorf("window accounts %d bytes for %d events that hold %d", got, events, bytes)
	}
	if bytes > budget {
		t.Errorf("window of %d bytes holds %d in %d events once encoded", budget, bytes, events)
	}
	// Events pushed after the encodings were built make room for themselves.
	pushN(h, 201, 300, kib)
	for _, e := range windowEvents(h) {
		e.Wire(twice)
	}
	if bytes, events := held(h); bytes > budget || accounted(h) < bytes {
		t.Errorf("window of %d bytes holds %d in %d events, accounts %d", budget, bytes, events, accounted(h))
	}
}

func accounted(h *Hub) int64 { return h.size.Load() }

// Encodings built on many goroutines while the tail pushes and evicts leave
// the count exact: the window's total is the sum of its events' shares, and
// within the budget.
func TestWindowCountUnderConcurrentEncoding(t *testing.T) {
	const budget = 256 << 10
	h := startIdle(t, Config{WindowBytes: budget, WindowEvents: 64})
	fs := []*Format{
		h.RegisterFormat("copy", func(e *eventlog.Event) []byte { return append([]byte(nil), e.Data...) }),
		h.RegisterFormat("twice", func(e *eventlog.Event) []byte {
			return append(append([]byte{}, e.Data...), e.Data...)
		}),
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				evs := windowEvents(h)
				for i := range evs {
					evs[len(evs)-1-i].Wire(fs[(i+r)%len(fs)])
				}
			}
		}()
	}
	pushN(h, 1, 3000, func(i int) []byte { return make([]byte, 512+i%1024) })
	stop.Store(true)
	wg.Wait()

	h.mu.RLock()
	var sum int64
	n := uint64(len(h.ring))
	for seq := h.lo; seq <= h.hi; seq++ {
		e := h.ring[seq%n]
		if e.held.Load() <= 0 {
			t.Errorf("event %d in the window holds %d", seq, e.held.Load())
		}
		sum += e.held.Load()
	}
	h.mu.RUnlock()
	if got := accounted(h); got != sum || got > budget {
		t.Fatalf("window accounts %d bytes, its events hold %d, budget %d", got, sum, budget)
	}
}
