package deliver

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
)

// fanoutTick is how often idle streams are checked for a keep-alive.
const fanoutTick = time.Second

// yieldEvery is how many streams a worker serves before it lets other
// goroutines run (about a millisecond of writes).
const yieldEvery = 128

// fanout serves the caught-up detached streams (SSE and WebSocket) with
// one worker per core instead of a goroutine per stream. On each new event
// a worker walks its streams and, for each, frames what is ready and
// writes it with one non-blocking writev. No goroutine wakes per stream,
// no write deadline is set per write, and an idle stream holds no stack:
// it is a socket, a subscription and a few words. A stream whose socket
// does not take the whole write, or that falls behind the hub's window,
// goes back to a goroutine of its own (Engine.run) with the rest, and
// returns when caught up.
type fanout struct {
	e       *Engine
	workers []*fanWorker
}

// DefaultWorkers is one fan-out worker per core but one: a core
// stays free for what must not wait for a fan-out round — publishers'
// requests, the engine, the hub's tail reader. (With every core in a
// round, a request waits for the runtime's next network poll, up to
// 10 ms; measured on 2 cores at 10,000 streams × 5 events/s: publish p99
// 8–10 ms with two workers, 5–7 ms with one, for ~20% more delivery p99.)
func DefaultWorkers() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// fanout returns the engine's fan-out, starting its workers on first use.
func (e *Engine) fanout() *fanout {
	e.fanOnce.Do(func() {
		f := &fanout{e: e}
		n := e.workers
		if n <= 0 {
			n = DefaultWorkers()
		}
		for range n {
			w := &fanWorker{f: f, kick: make(chan struct{}, 1), ring: e.newRingWrites()}
			if !e.Go(w.run) {
				w.stopped = true
				w.ring.close()
			}
			f.workers = append(f.workers, w)
		}
		e.fan.Store(f)
	})
	return e.fan.Load()
}

// join hands a caught-up stream to the least loaded worker; false if the
// workers have stopped (the caller still owns the stream).
func (f *fanout) join(st *stream) bool {
	return f.hand(func(w *fanWorker) {
		st.lastWrite = time.Now().UnixNano()
		st.holdUntil = 0
		w.adds = append(w.adds, st)
	})
}

// hand gives the least loaded worker something to own (a stream or a
// parked poll): add puts it on the worker's lists, under its lock, and
// the worker is kicked to take it. False if the workers have stopped (the
// caller still owns it).
func (f *fanout) hand(add func(w *fanWorker)) bool {
	w := f.workers[0]
	for _, o := range f.workers[1:] {
		if o.load.Load() < w.load.Load() {
			w = o
		}
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return false
	}
	add(w)
	w.load.Add(1)
	w.mu.Unlock()
	w.kickNow()
	return true
}

// kickNow has the worker run a round soon.
func (w *fanWorker) kickNow() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// fanWorker owns a share of the streams.
type fanWorker struct {
	f    *fanout
	load atomic.Int64 // streams and polls owned or about to be
	kick chan struct{}
	// pollsWoken is set when a parked poll of the worker's is woken, before
	// its kick: the next round looks at every poll (servePolls).
	pollsWoken atomic.Bool

	mu       sync.Mutex
	adds     []*stream // joined, not yet taken
	pollAdds []*parked // likewise
	stopped  bool

	// Owned by run.
	conns []*stream
	polls []*parked // parked polls (see poll.go)
	// What the last look at the polls saw: the hub's position, how many
	// polls it kept (those after joined since), their nearest deadline.
	pollsLast   uint64
	pollsSeen   int
	pollsNext   int64
	pevs        []*hub.Event
	vec         framing.Vectors
	arena       answerArena // where Quick answers are built (answerQuick)
	answerParts [][]byte
	evs         []*hub.Event
	bufs        [][]byte
	hold        *time.Timer
	holdAt      int64 // when hold fires (0: not armed)
	delivered   map[string]float64
	ring        *ringWrites // the round's writes through io_uring (nil: one writev each)
}

func (w *fanWorker) run() {
	e := w.f.e
	tick := time.NewTicker(fanoutTick)
	defer tick.Stop()
	w.hold = time.NewTimer(time.Hour)
	w.hold.Stop()
	w.delivered = map[string]float64{}
	defer w.ring.close()
	keepAlive := false
	for {
		if e.shutdown.Err() != nil {
			w.stop()
			return
		}
		last, changed := e.hub.Notify()
		w.mu.Lock()
		w.conns = append(w.conns, w.adds...)
		clear(w.adds)
		w.adds = w.adds[:0]
		w.polls = append(w.polls, w.pollAdds...)
		clear(w.pollAdds)
		w.pollAdds = w.pollAdds[:0]
		w.mu.Unlock()
		if w.serve(last, time.Now(), keepAlive) {
			continue // some streams had more than one write's worth
		}
		keepAlive = false
		select {
		case <-changed:
		case <-w.kick:
		case <-w.hold.C:
			w.holdAt = 0
		case <-tick.C:
			keepAlive = true
		case <-e.shutdown.Done():
			w.stop()
			return
		}
	}
}

// serve writes what is ready to each stream, and a keep-alive to those
// idle for their interval when keepAlive is set. It reports whether a
// stream still has events in the window (it got a full write's worth).
func (w *fanWorker) serve(last uint64, now time.Time, keepAlive bool) (more bool) {
	e := w.f.e
	nowNs := now.UnixNano()
	nextHold := int64(0)
	rules := e.faults.Rules()
	kept := w.conns[:0]
	for i, st := range w.conns {
		if i%yieldEvery == yieldEvery-1 {
			// A round over many streams takes the core for tens of
			// milliseconds: let publishers' requests and the hub's tail
			// reader in, so publishing never waits for fan-out.
			kept = w.flushRing(kept, rules, nowNs)
			runtime.Gosched()
		}
		if st.gone.Load() { // a WebSocket client closed
			w.load.Add(-1)
			e.end(st)
			continue
		}
		if st.rules != rules || st.fault != nil {
			if e.cutDue(st, rules, nowNs) {
				w.load.Add(-1)
				e.cut(st)
				continue
			}
			if sf := st.fault; sf != nil && sf.cutAt != 0 && (nextHold == 0 || sf.cutAt < nextHold) {
				nextHold = sf.cutAt // the timer that wakes holds wakes timed cuts too
			}
			if st.paced() {
				w.release(st, nil) // its writes wait: a goroutine of its own writes them
				continue
			}
		}
		sub := st.spec.Sub
		switch {
		case sub.Position() >= last:
			if keepAlive && nowNs-st.lastWrite >= int64(st.spec.KeepAlive) {
				w.bufs = append(w.bufs[:0], st.spec.Idle)
				if owned, _ := w.write(st, w.bufs, nowNs); !owned {
					continue
				}
			}
			kept = append(kept, st)
			continue
		case st.gather > 0 && st.holdUntil == 0:
			st.holdUntil = nowNs + int64(st.gather)
			st.held()
			fallthrough
		case st.holdUntil > nowNs:
			if nextHold == 0 || st.holdUntil < nextHold {
				nextHold = st.holdUntil
			}
			kept = append(kept, st)
			continue
		}
		st.holdUntil = 0
		evs, ok := sub.PollWindow(w.evs[:0], maxFrameEvents)
		w.evs = evs
		if !ok {
			w.release(st, nil) // behind the window: catch up from the log
			continue
		}
		if len(evs) == maxFrameEvents {
			more = true
		}
		if st.fault != nil {
			if evs = st.clip(evs); len(evs) < len(w.evs) {
				more = true // what was clipped is read again unless the stream is cut
			}
		}
		bufs, n := st.spec.Frames(w.bufs[:0], evs)
		w.bufs = bufs
		st.counted(n)
		if len(bufs) == 0 {
			kept = append(kept, st)
			continue
		}
		if w.ring != nil {
			kept = w.queue(st, bufs, n, kept, rules, nowNs)
			continue
		}
		owned, sent := w.write(st, bufs, nowNs)
		kept = w.wrote(st, n, owned, sent, kept, rules, nowNs)
	}
	kept = w.flushRing(kept, rules, nowNs)
	clear(w.conns[len(kept):])
	w.conns = kept
	clear(w.evs)
	clear(w.bufs)
	if h := w.servePolls(last, nowNs); h != 0 && (nextHold == 0 || h < nextHold) {
		nextHold = h
	}
	w.flushMetrics()
	if nextHold != 0 && (w.holdAt == 0 || nextHold < w.holdAt) {
		w.hold.Reset(time.Duration(max(nextHold-nowNs, 0)))
		w.holdAt = nextHold
	}
	return more
}

// write sends bufs to the stream without blocking. owned is false if the
// worker no longer owns the stream: it went to a goroutine with the rest
// of the write (sent: the rest is on its way), or it ended.
func (w *fanWorker) write(st *stream, bufs [][]byte, nowNs int64) (owned, sent bool) {
	if st.wmu != nil {
		if !st.wmu.TryLock() {
			// The WebSocket's reader is answering the client: a goroutine
			// writes once it is done, rather than the round waiting.
			w.release(st, bufs)
			return false, true
		}
	}
	n, err := w.vec.TryWrite(st.fd, bufs)
	if st.wmu != nil {
		st.wmu.Unlock()
	}
	var rest [][]byte
	if errors.Is(err, framing.ErrWouldBlock) {
		rest = framing.Advance(bufs, n)
	}
	return w.result(st, n, rest, err, nowNs)
}

// result takes a non-blocking write's outcome: n bytes went, and if the
// socket was full (framing.ErrWouldBlock), rest did not.
func (w *fanWorker) result(st *stream, n int, rest [][]byte, err error, nowNs int64) (owned, sent bool) {
	st.out.AddSent(n)
	switch {
	case err == nil:
		st.lastWrite = nowNs
		return true, true
	case errors.Is(err, framing.ErrWouldBlock):
		w.release(st, rest)
		return false, true
	default:
		w.load.Add(-1)
		w.f.e.streamCut(st.spec.Transport, err)
		w.f.e.end(st)
		return false, false
	}
}

// wrote finishes serving a stream after its write of events: it counts
// them if they went, and keeps the stream if the worker still owns it.
func (w *fanWorker) wrote(st *stream, events int, owned, sent bool, kept []*stream, rules *faults.Rules, nowNs int64) []*stream {
	if sent {
		w.delivered[st.spec.Transport] += float64(events)
	}
	if owned && st.fault != nil && w.f.e.cutDue(st, rules, nowNs) {
		w.load.Add(-1)
		w.f.e.cut(st) // right after its last whole event
		return kept
	}
	if owned {
		kept = append(kept, st)
	}
	return kept
}

// release gives the stream back to a goroutine of its own, which first
// writes rest, the part of a write the socket did not take.
func (w *fanWorker) release(st *stream, rest [][]byte) {
	w.load.Add(-1)
	for _, b := range rest {
		st.out.Add(b)
	}
	e := w.f.e
	if !e.Go(func() { e.run(e.shutdown, st) }) {
		e.end(st)
	}
}

// flushMetrics adds the round's deliveries to the counters: once per
// round and transport, not once per stream.
func (w *fanWorker) flushMetrics() {
	for t, n := range w.delivered {
		if n > 0 {
			w.f.e.metrics.EventsDelivered.WithLabelValues(t).Add(n)
			w.delivered[t] = 0
		}
	}
}

// stop ends every stream the worker owns or was about to: at shutdown
// each has had only whole writes, so clients resume exactly.
func (w *fanWorker) stop() {
	w.mu.Lock()
	w.stopped = true
	w.conns = append(w.conns, w.adds...)
	w.adds = nil
	w.polls = append(w.polls, w.pollAdds...)
	w.pollAdds = nil
	w.mu.Unlock()
	for _, st := range w.conns {
		w.f.e.end(st)
	}
	w.conns = nil
	w.stopPolls()
	w.hold.Stop()
}
