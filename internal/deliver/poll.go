package deliver

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/reqlog"
)

// Poll is what a dialect's long-poll supplies to ServePoll: where it
// reads, how long it waits, and how it answers.
type Poll struct {
	Transport string   // metrics label, e.g. "longpoll"
	Sub       *hub.Sub // the poll's position and filter; ServePoll closes it
	Max       int      // events in one answer
	Wait      time.Duration
	// Done, if set, ends the wait early: a newer poll of the same queue,
	// the queue's deletion.
	Done context.Context
	// Keep, if set, picks the events the poll answers with out of those
	// Sub matches (Zulip's per-user visibility); the others are passed
	// over, and the poll waits on. It runs on a fan-out worker: a lookup,
	// nothing that blocks.
	Keep func(*hub.Event) bool
	// Answer writes the response for the events the wait brought: none
	// once Wait passed, Done ended or the server shuts down; err is a read
	// that failed (a position older than retention). It must not keep w.
	Answer func(w http.ResponseWriter, evs []*hub.Event, err error)
	// Held, if set, runs once Hold has passed with no answer, on a
	// goroutine of its own (it may block), and the wait goes on: a poll
	// that carries a change to store with its answer stores it alone then
	// (a subscription's acknowledgement). An Answer may run while it does.
	Hold time.Duration
	Held func()
	// Release, if set, is called once the poll is over, answered or not
	// (its client hung up while it was parked).
	Release func()
	// Quick says Answer only renders (no engine call, nothing that
	// blocks), so a fan-out worker may run it and write its bytes with the
	// round's other writes; else it runs on a goroutine of its own.
	Quick bool
	// Ready, if set, says for each answer whether Quick holds for it: it
	// runs on the fan-out worker just before Answer, with the same events,
	// must not block, and an answer it refuses runs on a goroutine of its
	// own (Zulip's check that the queue still exists, made without a
	// wait unless the watch of queues is behind).
	Ready func(evs []*hub.Event) bool
}

// ServePoll answers a long-poll: at once if its subscription has events,
// else when they come or Wait passes. A poll that must wait on a plain
// HTTP/1.1 connection parks: the engine takes the connection over from
// net/http (see conn), a fan-out worker watches the poll as it watches
// caught-up streams and answers it, and the engine then serves the
// connection's next requests itself. A parked poll holds no goroutine,
// stack or buffer: a socket, a subscription and a few words. Elsewhere
// (TLS, HTTP/2, no handler set) the poll waits on its handler's goroutine.
// As after a hijack, the handler must not use w once ServePoll returns:
// a parked poll's answer takes over the headers set on it.
func (e *Engine) ServePoll(w http.ResponseWriter, r *http.Request, p Poll) {
	evs, ok := p.Sub.PollWindow(nil, p.Max)
	evs = p.keep(evs)
	var err error
	switch {
	case !ok:
		// Behind the window: what it reads is in the log.
		evs, err = p.Sub.Poll(r.Context(), p.Max)
		evs = p.keep(evs)
		fallthrough
	case len(evs) > 0 || p.Wait <= 0 || e.shutdown.Err() != nil:
		p.Answer(w, evs, err)
		p.over()
		return
	}
	keep := !r.Close && r.ProtoAtLeast(1, 1)
	c := e.detach(w, r)
	if c == nil {
		e.waitPoll(w, r, p)
		return
	}
	pp := &parked{e: e, c: c, spec: p, keep: keep, header: w.Header(), // w is done with: see above
		logged: reqlog.From(r.Context()).Detach()}
	now := time.Now()
	pp.deadline = now.Add(p.Wait).UnixNano()
	if p.Held != nil && p.Hold < p.Wait {
		pp.holdAt = now.Add(p.Hold).UnixNano()
	}
	if !c.park(pp) {
		// No poller can watch the socket: wait and answer on a goroutine,
		// which then reads the connection's next requests itself.
		if !e.Go(func() { e.waitParked(pp) }) {
			pp.answerNow(nil, nil)
			c.close()
		}
		return
	}
	if p.Done != nil {
		pp.stopDone = context.AfterFunc(p.Done, pp.wake)
	}
	if !e.fanout().joinPoll(pp) {
		pp.answerNow(nil, nil) // shutting down
		c.close()
	}
}

// waitPoll waits for the poll on the handler's goroutine and answers.
func (e *Engine) waitPoll(w http.ResponseWriter, r *http.Request, p Poll) {
	defer p.over()
	ctx, cancel := e.StreamContext(r) // server shutdown ends the wait
	defer cancel()
	if p.Done != nil {
		stop := context.AfterFunc(p.Done, cancel)
		defer stop()
	}
	evs, err := p.next(ctx, p.Wait)
	if errors.Is(err, context.Canceled) && r.Context().Err() == nil {
		err = nil // ended early (shutdown, Done): answer with none
	}
	if err != nil && r.Context().Err() != nil {
		return // the client went away
	}
	p.Answer(w, evs, err)
}

// waitParked serves a parked poll the poller cannot watch, on a goroutine
// of its own, then goes on reading its connection.
func (e *Engine) waitParked(pp *parked) {
	ctx, cancel := context.WithCancel(e.shutdown)
	defer cancel()
	if pp.spec.Done != nil {
		stop := context.AfterFunc(pp.spec.Done, cancel)
		defer stop()
	}
	evs, err := pp.spec.next(ctx, pp.spec.Wait)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	pp.answerNow(evs, err)
	if e.shutdown.Err() == nil && pp.keep && pp.ok {
		e.serve(pp.c)
		return
	}
	pp.c.close()
}

// over closes the poll's subscription and releases it.
func (p *Poll) over() {
	p.Sub.Close()
	if p.Release != nil {
		p.Release()
	}
}

// keep returns the events of evs the poll answers with (all without
// Keep), in place.
func (p *Poll) keep(evs []*hub.Event) []*hub.Event {
	if p.Keep == nil {
		return evs
	}
	kept := evs[:0]
	for _, e := range evs {
		if p.Keep(e) {
			kept = append(kept, e)
		}
	}
	return kept
}

// next waits on the caller's goroutine for events the poll keeps, until
// wait passes (none) or ctx ends; Held runs after Hold.
func (p *Poll) next(ctx context.Context, wait time.Duration) ([]*hub.Event, error) {
	deadline := time.Now().Add(wait)
	if p.Held != nil && p.Hold < wait {
		evs, err := p.next(ctx, p.Hold)
		if err != nil || len(evs) > 0 {
			return evs, err
		}
		p.Held()
	}
	for {
		evs, err := p.Sub.NextWithin(ctx, p.Max, time.Until(deadline))
		if err != nil || len(evs) == 0 {
			return nil, err
		}
		if evs = p.keep(evs); len(evs) > 0 {
			return evs, nil
		}
	}
}

// parked is a poll waiting off its handler. Its owner is the fan-out
// worker it joined until the worker answers it or hands it to a goroutine
// (answer); the poller and Done only wake it.
type parked struct {
	e        *Engine
	c        *conn
	spec     Poll
	keep     bool        // the connection may serve another request after the answer
	header   http.Header // what the handler and middleware set before it parked
	logged   func(status int, bytes int64)
	deadline int64 // unix nanoseconds
	holdAt   int64 // when Held runs (0: never, or it ran)
	stopDone func() bool
	ok       bool // the answer was written whole

	due    atomic.Bool // woken: answer at the worker's next look
	gone   atomic.Bool // the client hung up
	worker atomic.Pointer[fanWorker]
}

// wake has the poll's worker look at it now.
func (pp *parked) wake() {
	pp.due.Store(true)
	if w := pp.worker.Load(); w != nil {
		w.pollsWoken.Store(true)
		w.kickNow()
	}
}

// hungUp is the poller's report that the client closed while parked.
func (pp *parked) hungUp() {
	pp.gone.Store(true)
	pp.wake()
}

// answerNow runs Answer on the caller's goroutine and writes it, blocking
// under the write timeout; then the poll is over.
func (pp *parked) answerNow(evs []*hub.Event, err error) {
	rs := pp.response()
	pp.spec.Answer(rs, evs, err)
	pp.ok = rs.finish()
	pp.done(rs)
}

// response is the poll's answer, with the headers set before it parked;
// a poll is answered once.
func (pp *parked) response() *response {
	return newAnswer(pp.c, pp.header, pp.keep && pp.e.shutdown.Err() == nil)
}

// done ends the poll once its answer went: the access-log line, the
// subscription, Done's hook.
func (pp *parked) done(rs *response) {
	if pp.stopDone != nil {
		pp.stopDone()
	}
	pp.spec.over()
	if pp.logged != nil {
		pp.logged(rs.status, rs.bodyLen)
	}
}

// end drops a poll whose client hung up: logged as nginx does (499).
func (pp *parked) end() {
	if pp.stopDone != nil {
		pp.stopDone()
	}
	pp.spec.over()
	if pp.logged != nil {
		pp.logged(statusClientClosed, 0)
	}
	pp.c.close()
}

// statusClientClosed is nginx's status for a request whose client closed
// the connection before it was answered.
const statusClientClosed = 499

// joinPoll hands a parked poll to the least loaded worker; false if the
// workers have stopped.
func (f *fanout) joinPoll(pp *parked) bool {
	return f.hand(func(w *fanWorker) {
		pp.worker.Store(w)
		w.pollAdds = append(w.pollAdds, pp)
		f.e.parkedCount.Add(1)
		f.e.metrics.Subscribers.WithLabelValues(pp.spec.Transport).Inc()
	})
}

// servePolls answers the parked polls that are ready: events in the
// window, woken, or their wait over. It returns the nearest deadline of
// those still waiting (0: none).
//
// While it answers, the engine's gate is paused (see gate).
//
// A poll the last round kept can only have become ready since if the hub
// moved on, a poll was woken (Done, a hang-up) or a deadline came; else
// only the polls that joined since are looked at. Every answered poll's
// client asks again at once, and each of those joins wakes the worker: a
// look at every parked poll each time made a burst of re-polls cost the
// square of the polls.
func (w *fanWorker) servePolls(last uint64, nowNs int64) (nextHold int64) {
	from := 0
	woken := w.pollsWoken.Swap(false)
	if !woken && last == w.pollsLast && (w.pollsNext == 0 || nowNs < w.pollsNext) && w.f.e.shutdown.Err() == nil {
		from, nextHold = w.pollsSeen, w.pollsNext
	}
	kept := w.polls[:from]
	gate, paused, answered := w.f.e.gate, false, 0
	for _, pp := range w.polls[from:] {
		if pp.gone.Load() {
			w.unpark(pp)
			pp.end()
			continue
		}
		sub := pp.spec.Sub
		due := pp.due.Load() || nowNs >= pp.deadline || w.f.e.shutdown.Err() != nil
		if !due && sub.Position() >= last {
			nextHold = pp.waitOn(nowNs, nextHold)
			kept = append(kept, pp)
			continue
		}
		evs, ok := sub.PollWindow(w.pevs[:0], pp.spec.Max)
		w.pevs = evs
		evs = pp.spec.keep(evs)
		if ok && len(evs) == 0 && !due {
			// Events past it, none for it: it waits on.
			nextHold = pp.waitOn(nowNs, nextHold)
			kept = append(kept, pp)
			continue
		}
		w.unpark(pp)
		if answered++; !paused {
			gate.pause()
			paused = true
		} else if answered%yieldEvery == 0 {
			// Between batches of answers, the gate lets a few requests
			// in: one on a connection the engine serves waits for a batch,
			// not for the whole burst.
			gate.resume()
			paused = false
		}
		if !ok || !pp.spec.Quick || (pp.spec.Ready != nil && !pp.spec.Ready(evs)) {
			var got []*hub.Event
			if ok {
				got = append(got, evs...)
			}
			e := w.f.e
			if !e.goPooled(func() { pp.answerSlow(got, !ok) }) {
				pp.answerNow(got, nil)
				pp.c.close()
			}
			continue
		}
		w.answerQuick(pp, evs)
	}
	w.flushAnswers()
	if paused {
		gate.resume()
	}
	w.arena.reset()
	clear(w.polls[len(kept):])
	w.polls = kept
	clear(w.pevs)
	w.pollsLast, w.pollsSeen, w.pollsNext = last, len(kept), nextHold
	return nextHold
}

// waitOn keeps a poll waiting: it starts Held when its hold is over, and
// returns the earlier of next and the poll's next deadline.
func (pp *parked) waitOn(nowNs, next int64) int64 {
	if pp.holdAt != 0 && nowNs >= pp.holdAt {
		pp.holdAt = 0
		pp.e.Go(pp.spec.Held)
	}
	at := pp.deadline
	if pp.holdAt != 0 {
		at = pp.holdAt
	}
	if next == 0 || at < next {
		return at
	}
	return next
}

// unpark counts a poll the worker no longer holds.
func (w *fanWorker) unpark(pp *parked) {
	w.load.Add(-1)
	w.f.e.parkedCount.Add(-1)
	w.f.e.metrics.Subscribers.WithLabelValues(pp.spec.Transport).Dec()
}

// answerSlow answers on a goroutine of the poll's own: an Answer that may
// block, or a poll that fell behind the window (behind: read the log).
func (pp *parked) answerSlow(evs []*hub.Event, behind bool) {
	var err error
	if behind {
		evs, err = pp.spec.Sub.Poll(pp.e.shutdown, pp.spec.Max)
		evs = pp.spec.keep(evs)
	}
	pp.answerNow(evs, err)
	pp.after()
}

// answerQuick renders a Quick answer on the worker and writes it without
// blocking, at once or with the round's other writes through io_uring
// (w.ring, flushAnswers); what the socket does not take is written by a
// goroutine.
func (w *fanWorker) answerQuick(pp *parked, evs []*hub.Event) {
	mark := len(w.arena.b)
	rs := pp.response()
	rs.body = w.arena.room()
	pp.spec.Answer(rs, evs, nil)
	if rs.committed || rs.err != nil {
		// It streamed (not what Quick promises): finish it the slow way.
		w.arena.drop()
		if !pp.e.goPooled(func() { pp.ok = rs.finish(); pp.done(rs); pp.after() }) {
			pp.done(rs)
			pp.c.close() // shutting down
		}
		return
	}
	body := w.arena.claim(rs.takeBody())
	head := w.arena.claim(rs.appendHead(w.arena.room(), int(rs.bodyLen)))
	parts := append(w.answerParts[:0], head)
	if len(body) > 0 {
		parts = append(parts, body)
	}
	if w.ring != nil {
		if w.ring.batch.Full() {
			w.flushAnswers()
		}
		w.ring.batch.Add(pp.c.fd, parts)
		w.ring.answers = append(w.ring.answers, ringAnswer{pp: pp, rs: rs})
	} else {
		n, err := w.vec.TryWrite(pp.c.fd, parts)
		var rest [][]byte
		if errors.Is(err, framing.ErrWouldBlock) {
			rest = framing.Advance(parts, n)
		}
		if w.answerWritten(pp, rs, rest, err) {
			w.arena.b = w.arena.b[:mark] // written: its room serves the next answer
		}
	}
	clear(parts)
	w.answerParts = parts[:0]
}

// answerWritten finishes a Quick answer once the socket took what it
// could, and reports whether the buffers are free again; rest is what it
// did not take (err is then ErrWouldBlock).
func (w *fanWorker) answerWritten(pp *parked, rs *response, rest [][]byte, err error) (free bool) {
	switch {
	case err == nil:
		pp.ok = rs.keep
		pp.done(rs)
		pp.after()
		return true
	case errors.Is(err, framing.ErrWouldBlock):
		w.arena.drop() // rest is in it: the goroutine's now
		if !pp.e.Go(func() {
			pp.ok = rs.write(rest) == nil && rs.keep
			pp.done(rs)
			pp.after()
		}) {
			pp.done(rs)
			pp.c.close()
		}
		return false
	default:
		pp.done(rs)
		pp.c.close()
		return true
	}
}

// answerArena is where a worker builds the Quick answers of a round: each
// answer's body and head follow the last one's, and the room is used again
// once they are written (after each writev, or after the round's io_uring
// batches). A buffer that outgrew the room is an allocation of its own,
// and the next round's arena is made larger, up to maxArena.
type answerArena struct {
	b    []byte
	miss int // bytes built outside the room this round
}

// maxArena bounds a worker's arena.
const maxArena = 1 << 20

// room is the arena's free space, to append an answer's bytes to.
func (a *answerArena) room() []byte { return a.b[len(a.b):len(a.b)] }

// claim takes b into the arena if it was built in its room (appending did
// not move it), and returns b.
func (a *answerArena) claim(b []byte) []byte {
	free := cap(a.b) - len(a.b)
	if len(b) > 0 && free > 0 && cap(b) == free && &b[0] == &a.b[:len(a.b)+1][len(a.b)] {
		a.b = a.b[:len(a.b)+len(b)]
	} else {
		a.miss += len(b)
	}
	return b
}

// reset frees the arena for the next round, larger if the round's answers
// did not fit.
func (a *answerArena) reset() {
	if a.miss > 0 || a.b == nil {
		a.b = make([]byte, 0, min(max(cap(a.b)+a.miss, 4<<10), maxArena))
	} else {
		a.b = a.b[:0]
	}
	a.miss = 0
}

// drop gives the arena's bytes up (a goroutine writes some of them).
func (a *answerArena) drop() { a.b, a.miss = nil, 0 }

// after moves the connection on once the answer is written: to its next
// request, or idle, or closed.
func (pp *parked) after() {
	if !pp.ok {
		pp.c.close()
		return
	}
	pp.c.answered()
}

// stopPolls answers every parked poll the worker holds, at shutdown: with
// no events, and the connection closed after.
func (w *fanWorker) stopPolls() {
	for _, pp := range w.polls {
		w.unpark(pp)
		if pp.gone.Load() {
			pp.end()
			continue
		}
		pp.answerNow(nil, nil)
		pp.c.close()
	}
	w.polls = nil
}
