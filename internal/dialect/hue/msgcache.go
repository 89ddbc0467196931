package hue

import (
	"sync/atomic"

	"github.com/herald-io/herald/internal/hub"
)

// Shared SSE messages. Every Hue stream reads the same filter (hueScope),
// so when an event arrives a thousand caught-up streams each get the same
// batch, and each would build the same message: the bytes of a message
// depend only on its events (their encodings, the last one's time and
// sequence). The cache keeps the last messages built, so every stream that
// receives a batch reuses one set of immutable bytes. The core's fan-out
// workers call Frames concurrently; the cache is a few atomic pointers, so
// a hit costs no lock and no allocation, and a lost race only builds a
// message twice.

// msgCacheSlots is how many recent batches the cache keeps: the fan-out
// has a worker per core, and two workers may be on different batches.
const msgCacheSlots = 4

// builtMessages is one batch and the SSE frames built for it. It is never
// changed once stored.
type builtMessages struct {
	seqs   []uint64 // the batch's sequence numbers, in order
	frames [][]byte
}

// matches reports whether evs is exactly this batch. Comparing every
// sequence (not just the ends and the count) keeps the cache right even
// for streams whose filters differ: the log's sequences name its events.
func (m *builtMessages) matches(evs []*hub.Event) bool {
	if len(m.seqs) != len(evs) {
		return false
	}
	for i, e := range evs {
		if m.seqs[i] != e.Seq {
			return false
		}
	}
	return true
}

// msgCache maps recent batches to their frames.
type msgCache struct {
	slots [msgCacheSlots]atomic.Pointer[builtMessages]
}

// frames appends the SSE messages carrying evs to dst, at most
// maxMessageEvents events each: the cached ones if this batch was built
// before, else new ones, which it caches. The appended slices must not be
// modified (they are shared with other streams).
func (c *msgCache) frames(dst [][]byte, f *hub.Format, evs []*hub.Event) [][]byte {
	if len(evs) == 0 {
		return dst
	}
	slot := &c.slots[evs[len(evs)-1].Seq%msgCacheSlots]
	if m := slot.Load(); m != nil && m.matches(evs) {
		return append(dst, m.frames...)
	}
	m := &builtMessages{seqs: make([]uint64, len(evs))}
	for i, e := range evs {
		m.seqs[i] = e.Seq
	}
	for rest := evs; len(rest) > 0; {
		n := min(len(rest), maxMessageEvents)
		m.frames = append(m.frames, appendMessage(nil, f, rest[:n]))
		rest = rest[n:]
	}
	slot.Store(m)
	return append(dst, m.frames...)
}
