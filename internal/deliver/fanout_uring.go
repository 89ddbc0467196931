package deliver

import (
	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/framing"
)

// ringWrites is a fan-out worker's batch of writes through io_uring
// (Config.IOUring): instead of one writev per stream, a round queues each
// stream's write and sends up to yieldEvery of them with one system call
// (framing.Batch), then takes each result as it takes a writev's — all
// went: the worker keeps the stream; part: a goroutine of its own writes
// the rest; an error: the stream ends. A stream is in a batch at most once
// and the worker owns it until its result is taken (a WebSocket's write
// lock is held meanwhile), so its writes still leave in order, one at a
// time, from a single writer.
type ringWrites struct {
	batch   *framing.Batch
	pending []ringWrite  // the batch's writes, in its order
	answers []ringAnswer // or, after the streams', the round's Quick answers
}

// ringAnswer is a parked poll's queued answer.
type ringAnswer struct {
	pp *parked
	rs *response
}

// flushAnswers sends the queued Quick answers and finishes their polls.
func (w *fanWorker) flushAnswers() {
	r := w.ring
	if r == nil || len(r.answers) == 0 {
		return
	}
	r.batch.Send()
	for i, a := range r.answers {
		_, rest, err := r.batch.Result(i)
		w.answerWritten(a.pp, a.rs, rest, err)
	}
	r.batch.Reset()
	clear(r.answers)
	r.answers = r.answers[:0]
}

// ringWrite is a queued write: its stream and how many events it holds.
type ringWrite struct {
	st     *stream
	events int
}

// newRingWrites returns the worker's batch, or nil to write with writev:
// Config.IOUring is off, or io_uring cannot be used here.
func (e *Engine) newRingWrites() *ringWrites {
	if !e.ioUring {
		return nil
	}
	b, err := framing.NewBatch(yieldEvery)
	if err != nil {
		e.logger.Warn("fan-out: io_uring unavailable; writing with writev", "err", err)
		return nil
	}
	return &ringWrites{batch: b}
}

func (r *ringWrites) close() {
	if r != nil {
		r.batch.Close()
	}
}

// queue adds st's write of bufs (events events) to the batch; flushRing
// sends it. serve flushes every yieldEvery streams, so the batch is not
// full here unless that changes.
func (w *fanWorker) queue(st *stream, bufs [][]byte, events int, kept []*stream, rules *faults.Rules, nowNs int64) []*stream {
	if st.wmu != nil && !st.wmu.TryLock() {
		// The WebSocket's reader is answering the client (see write).
		w.release(st, bufs)
		return w.wrote(st, events, false, true, kept, rules, nowNs)
	}
	r := w.ring
	if r.batch.Full() {
		kept = w.flushRing(kept, rules, nowNs)
	}
	r.batch.Add(st.fd, bufs)
	r.pending = append(r.pending, ringWrite{st: st, events: events})
	return kept
}

// flushRing sends the queued writes and finishes serving their streams.
func (w *fanWorker) flushRing(kept []*stream, rules *faults.Rules, nowNs int64) []*stream {
	r := w.ring
	if r == nil || len(r.pending) == 0 {
		return kept
	}
	r.batch.Send()
	for i, p := range r.pending {
		n, rest, err := r.batch.Result(i)
		if p.st.wmu != nil {
			p.st.wmu.Unlock()
		}
		owned, sent := w.result(p.st, n, rest, err, nowNs)
		kept = w.wrote(p.st, p.events, owned, sent, kept, rules, nowNs)
	}
	r.batch.Reset()
	clear(r.pending)
	r.pending = r.pending[:0]
	return kept
}
