package deliver

import (
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gateHold is how long a task counts against the gate's limit; it is far
// longer than a request served from memory takes (tens of microseconds).
const gateHold = 2 * time.Millisecond

// gateLimit is how many tasks the gate runs at once: a few per processor,
// so that some are ready while others wait on the log or the network.
func gateLimit() int { return 4 * runtime.GOMAXPROCS(0) }

// A gate bounds how many connections have their requests served at once.
// When a fan-out answers thousands of parked polls, their clients ask
// again within a millisecond; served on a goroutine each, those thousands
// of runnable goroutines queue ahead of a publisher's request and of the
// engine's own handoffs in the scheduler's run queues, and the next event
// waits for the whole burst. Behind the gate the burst waits in a FIFO of
// connections instead, served by at most limit goroutines in turn.
//
// A task that has run for longer than hold stops counting against the
// limit and the gate admits another in its place: a handler that waits
// (on a proxied server, a slow store) delays nobody by more than hold.
//
// While a fan-out worker answers parked polls it pauses the gate (pause,
// resume), a batch of answers at a time: the burst's answers go out
// first, and its clients' next requests are read after, instead of both
// sharing the cores until the last answer of the burst.
//
// Ownership: mu guards everything below it. A slot belongs to one counted
// task; its gen changes whenever it is given up, by the task (next) or by
// the timer (expire), so a task the timer released knows it no longer owns
// it. serve, start and drop are called without mu held.
type gate[T any] struct {
	hold  time.Duration
	start func(func()) bool // runs f on a goroutine Wait waits for; false when shutting down
	serve func(T)
	drop  func(T) // for tasks never served: the server is shutting down
	// queued is how many tasks wait (set under mu), waited how many did.
	queued prometheus.Gauge
	waited prometheus.Counter

	mu     sync.Mutex
	slots  []gateSlot
	free   int // slots not busy
	queue  []T // waiting, oldest first from head
	head   int
	timer  *time.Timer
	timing bool // timer armed
	paused int  // pauses not resumed: no task starts, none is handed on
}

type gateSlot struct {
	busy  bool
	gen   uint32
	since time.Time // when its task began
}

func newGate[T any](limit int, hold time.Duration, start func(func()) bool, serve, drop func(T),
	queued prometheus.Gauge, waited prometheus.Counter) *gate[T] {
	return &gate[T]{
		hold: hold, start: start, serve: serve, drop: drop, queued: queued, waited: waited,
		slots: make([]gateSlot, limit), free: limit,
	}
}

// gateAdmit is a task given a slot, not yet started.
type gateAdmit[T any] struct {
	t   T
	i   int
	gen uint32
}

// Go has t served now, if fewer than limit tasks count, or once it is its
// turn; when the server is shutting down, t is dropped instead.
func (g *gate[T]) Go(t T) {
	g.mu.Lock()
	if g.free == 0 || g.head < len(g.queue) || g.paused > 0 {
		g.queue = append(g.queue, t)
		g.queued.Inc()
		g.waited.Inc()
		if g.paused == 0 {
			g.armLocked()
		}
		g.mu.Unlock()
		return
	}
	i, gen := g.claimLocked(time.Now())
	g.mu.Unlock()
	if !g.start(func() { g.run(t, i, gen) }) {
		g.stop([]gateAdmit[T]{{t, i, gen}})
	}
}

// claimLocked takes a free slot for a task beginning at now.
func (g *gate[T]) claimLocked(now time.Time) (int, uint32) {
	for i := range g.slots {
		s := &g.slots[i]
		if !s.busy {
			s.busy, s.since = true, now
			s.gen++
			g.free--
			return i, s.gen
		}
	}
	panic("deliver: gate has no free slot")
}

// run serves t, then the tasks waiting, for as long as it owns slot i.
func (g *gate[T]) run(t T, i int, gen uint32) {
	for {
		g.serve(t)
		var ok bool
		if t, gen, ok = g.next(i, gen); !ok {
			return
		}
	}
}

// next gives up slot i after a task, or hands it the next task waiting.
func (g *gate[T]) next(i int, gen uint32) (T, uint32, bool) {
	var zero T
	g.mu.Lock()
	defer g.mu.Unlock()
	s := &g.slots[i]
	if s.gen != gen {
		return zero, 0, false // released by expire: its place is taken
	}
	if g.head < len(g.queue) && g.paused == 0 {
		t := g.popLocked()
		s.since = time.Now()
		s.gen++
		return t, s.gen, true
	}
	g.releaseLocked(s)
	return zero, 0, false
}

// releaseLocked frees slot s; its task, if still running, no longer owns it.
func (g *gate[T]) releaseLocked(s *gateSlot) {
	s.busy = false
	s.gen++
	g.free++
}

// popLocked takes the oldest task waiting. The room of those taken is used
// again once the queue empties, or once they are most of it: under a load
// that never lets it empty, the queue must not grow for ever.
func (g *gate[T]) popLocked() T {
	var zero T
	t := g.queue[g.head]
	g.queue[g.head] = zero
	g.head++
	g.queued.Dec()
	switch {
	case g.head == len(g.queue):
		g.queue, g.head = g.queue[:0], 0
	case g.head >= 64 && 2*g.head >= len(g.queue):
		n := copy(g.queue, g.queue[g.head:])
		clear(g.queue[n:])
		g.queue, g.head = g.queue[:n], 0
	}
	return t
}

// armLocked has expire run once the oldest counted task has held its slot
// for hold.
func (g *gate[T]) armLocked() {
	if g.timing {
		return
	}
	var oldest time.Time
	for i := range g.slots {
		if s := &g.slots[i]; s.busy && (oldest.IsZero() || s.since.Before(oldest)) {
			oldest = s.since
		}
	}
	d := g.hold
	if !oldest.IsZero() {
		d = time.Until(oldest.Add(g.hold))
	}
	g.timing = true
	if g.timer == nil {
		g.timer = time.AfterFunc(d, g.expire)
		return
	}
	g.timer.Reset(d)
}

// expire releases the slots of tasks that have run for hold and admits
// waiting tasks in their place.
func (g *gate[T]) expire() {
	var run []gateAdmit[T]
	now := time.Now()
	g.mu.Lock()
	g.timing = false
	for i := range g.slots {
		if s := &g.slots[i]; s.busy && now.Sub(s.since) >= g.hold {
			g.releaseLocked(s)
		}
	}
	for g.free > 0 && g.head < len(g.queue) && g.paused == 0 {
		t := g.popLocked()
		i, gen := g.claimLocked(now)
		run = append(run, gateAdmit[T]{t, i, gen})
	}
	if g.head < len(g.queue) && g.paused == 0 {
		g.armLocked()
	}
	g.mu.Unlock()
	for k, a := range run {
		if !g.start(func() { g.run(a.t, a.i, a.gen) }) {
			g.stop(run[k:])
			return
		}
	}
}

// pause has the gate start no task until resume: what Go is given waits,
// and a task that ends gives up its slot rather than serve the next. The
// tasks running go on.
func (g *gate[T]) pause() {
	g.mu.Lock()
	g.paused++
	g.mu.Unlock()
}

// resume ends a pause; once none is left, the tasks that waited start in
// the free slots (expire's admission, which also frees the slots of tasks
// that held theirs for hold meanwhile).
func (g *gate[T]) resume() {
	g.mu.Lock()
	g.paused--
	waiting := g.paused == 0 && g.head < len(g.queue)
	g.mu.Unlock()
	if waiting {
		g.expire()
	}
}

// stop drops the tasks that could not start, and everything still
// waiting, giving up their slots: the server is shutting down.
func (g *gate[T]) stop(run []gateAdmit[T]) {
	g.mu.Lock()
	var dropped []T
	for _, a := range run {
		dropped = append(dropped, a.t)
		if s := &g.slots[a.i]; s.gen == a.gen {
			g.releaseLocked(s)
		}
	}
	for g.head < len(g.queue) {
		dropped = append(dropped, g.popLocked())
	}
	g.mu.Unlock()
	for _, t := range dropped {
		g.drop(t)
	}
}
