package hub

import (
	"sync"
	"sync/atomic"

	"github.com/herald-io/herald/internal/eventlog"
)

// maxFormats bounds the wire formats one hub can cache per event.
const maxFormats = 16

// Event is a log event as the hub hands it out: shared, read-only, with its
// wire encodings cached so each is built once however many subscribers get it.
type Event struct {
	eventlog.Event
	wire [maxFormats]atomic.Pointer[[]byte]
	// win is the hub whose window took the event (nil for one read from
	// the log) and held the bytes it counts for it (see budget.go).
	win  *Hub
	held atomic.Int64
}

// Format is a wire encoding of events (native SSE frame, Hue event JSON, …),
// registered once per hub by the dialect that speaks it.
type Format struct {
	id     int
	name   string
	encode func(*eventlog.Event) []byte
}

// Name returns the name the format was registered with.
func (f *Format) Name() string { return f.name }

// Wire returns the event's encoding in format f, building it on first use.
// Concurrent first uses may both encode; one result wins and is kept, and
// counts against the window's budget while the event is in it.
func (e *Event) Wire(f *Format) []byte {
	if p := e.wire[f.id].Load(); p != nil {
		return *p
	}
	b := f.encode(&e.Event)
	if !e.wire[f.id].CompareAndSwap(nil, &b) {
		return *e.wire[f.id].Load()
	}
	if e.win != nil {
		e.win.grow(e, wireCost(b))
	}
	return b
}

// formats is a hub's registry of formats.
type formats struct {
	mu   sync.Mutex
	list []*Format
}

func (r *formats) register(name string, enc func(*eventlog.Event) []byte) *Format {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.list {
		if f.name == name {
			return f
		}
	}
	if len(r.list) == maxFormats {
		panic("hub: too many wire formats; raise maxFormats")
	}
	f := &Format{id: len(r.list), name: name, encode: enc}
	r.list = append(r.list, f)
	return f
}

// Wire returns ev's encoding in format f: the window's, cached and shared,
// when the window holds ev, else ev encoded afresh. Pull consumers answer
// with it: their reads hand out copies of the events (Read), and their
// answers then share the bytes every stream of the format writes.
func (h *Hub) Wire(ev *eventlog.Event, f *Format) []byte {
	var e *Event
	h.mu.RLock()
	if h.wake != nil && ev.Seq >= h.lo && ev.Seq <= h.hi {
		e = h.ring[ev.Seq%uint64(len(h.ring))]
	}
	h.mu.RUnlock()
	if e == nil || e.Seq != ev.Seq {
		return f.encode(ev)
	}
	return e.Wire(f)
}
