package hub

import (
	"math"
	"unsafe"

	"github.com/herald-io/herald/internal/eventlog"
)

// The window's budget (Config.WindowBytes) bounds the heap its events keep
// alive: each Event with its strings and payload, and every wire encoding
// cached on it. Encodings are built after an event entered the window, by
// whichever connection goroutine needs one first, so the count grows
// outside h.mu:
//
//  1. h.size is the window's total; e.held is one event's share of it, and
//     negative (gone and more) once the event has left the window.
//  2. An encoding adds its cost to e.held and, only if the sum is not
//     negative (the event is still in the window), to h.size.
//  3. Leaving the window swaps e.held for gone and subtracts what it held.
//     With 2 in either order the total comes out the same: a cost added
//     just before the event left is subtracted with the rest.
//  4. Events leave only under h.mu: push, trim, and grow when an encoding
//     takes the window over budget. Nothing calls Wire with h.mu held, and
//     h.mu is the innermost hub lock.

// gone marks an event's held count once it has left the window: far enough
// below zero that the encodings added later keep it negative.
const gone = math.MinInt64 / 2

// eventSlack stands for what an event keeps alive that its fields do not
// show: Data is sliced from the engine's message, whose envelope (id, type,
// time) lies before it, and Topic from the subject with its prefix.
const eventSlack = 128

// eventCost is what an event in the window keeps alive before any encoding.
func eventCost(ev *eventlog.Event) int64 {
	return int64(unsafe.Sizeof(Event{})+uintptr(len(ev.ID)+len(ev.Type)+len(ev.Topic))) +
		heapBytes(cap(ev.Data)+eventSlack)
}

// wireCost is what a cached encoding keeps alive: its bytes and the slice
// header the cache points to.
func wireCost(b []byte) int64 {
	return int64(unsafe.Sizeof(b)) + heapBytes(cap(b))
}

// heapBytes is the heap a block of n bytes takes: the runtime gives a large
// one (over 32 KiB) whole 8 KiB pages.
func heapBytes(n int) int64 {
	const large, page = 32 << 10, 8 << 10
	if n > large {
		n = (n + page - 1) &^ (page - 1)
	}
	return int64(n)
}

// grow counts n more bytes kept by e (rule 2) and, if that takes the window
// over its budget, drops its oldest events; the newest always stays.
func (h *Hub) grow(e *Event, n int64) {
	if e.held.Add(n) < 0 {
		return // out of the window: its readers hold it, not the hub
	}
	if h.size.Add(n) <= h.maxSize {
		return
	}
	h.mu.Lock()
	for h.size.Load() > h.maxSize && h.lo < h.hi {
		h.dropOldest()
	}
	h.mu.Unlock()
}

// dropOldest removes the window's oldest event (rule 3). h.mu is locked and
// the window is not empty.
func (h *Hub) dropOldest() {
	n := uint64(len(h.ring))
	e := h.ring[h.lo%n]
	h.ring[h.lo%n] = nil
	h.lo++
	h.size.Add(-e.held.Swap(gone))
}
