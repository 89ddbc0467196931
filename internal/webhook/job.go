package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// A job delivers one endpoint's events while this node holds its lease.
//
// The write order, and what a crash leaves:
//  1. An event is delivered (a 2xx) before the position passes it, and
//     the position is stored at most Config.CommitEvery later. A crash
//     in between delivers it again, under the same webhook-id: at least
//     once, never skipped.
//  2. A failed try is stored (Retries) before its next one is waited for,
//     so a successor goes on with the schedule instead of starting it
//     over; a crash between a try and that write repeats the try.
//  3. The failing mark is stored before the job stops delivering; the
//     position stays before the event that failed.
//
// Ownership: run's goroutine owns st and is the only writer of the state
// key (compare-and-set on rev: a conflict means the endpoint was deleted,
// or another node took over, and the job stops). read's goroutine owns the
// hub subscription and hands run the events in log order; each delivery
// (an event and its retries) has a goroutine of its own that reports to
// run and never touches st. run waits for all of them before it returns.
type job struct {
	s       *Service
	rec     record
	st      State
	rev     uint64
	dirty   bool
	lost    bool // the state changed under the job: it stops
	window  int
	limiter *rate.Limiter // nil: unlimited
	checked time.Time     // when read last found the owner's key (read's goroutine only)
}

// item is what read hands run: an event to deliver, or (ev nil) the
// position the subscription scanned to, or the error that ended it.
type item struct {
	ev  *hub.Event
	pos uint64
	err error
}

// report is what a delivery tells run: an attempt, and whether it was
// the last (ok: delivered; else the schedule is exhausted).
type report struct {
	seq   uint64
	a     Attempt
	retry Retry // when not final: the place on the schedule
	final bool
	ok    bool
}

// errGone is a state that is not there: the endpoint was deleted.
var errGone = errors.New("webhook: state gone")

func (s *Service) runJob(ctx context.Context, def eventlog.Entry) {
	var rec record
	if err := json.Unmarshal(def.Value, &rec); err != nil {
		s.log.Error("webhook: stored definition", "key", def.Key, "err", err)
		<-ctx.Done()
		return
	}
	j := &job{s: s, rec: rec, window: s.cfg.Window}
	if rec.Ordered {
		j.window = 1
	}
	if rec.Rate > 0 {
		j.limiter = rate.NewLimiter(rate.Limit(rec.Rate), max(1, int(rec.Rate)))
	}
	defer s.core.Metrics.WebhookLag.DeleteLabelValues(rec.ID)
	if err := j.load(ctx); err != nil {
		if errors.Is(err, errGone) || ctx.Err() != nil {
			<-ctx.Done()
		} else {
			s.log.Warn("webhook: reading state", "webhook", rec.ID, "err", err)
		}
		return // the lease starts it again after a pause
	}
	j.run(ctx)
}

// load reads the state, and starts the definition's epoch if it is new.
func (j *job) load(ctx context.Context) error {
	ent, err := j.s.kv.Get(ctx, statePrefix+j.rec.ID)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return errGone
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(ent.Value, &j.st); err != nil {
		return err
	}
	j.rev = ent.Revision
	if j.st.Epoch >= j.rec.Epoch {
		return nil
	}
	j.st.Epoch, j.st.Failing, j.st.FailingSince, j.st.LastError, j.st.Retries = j.rec.Epoch, false, nil, "", nil
	if j.rec.Start != nil {
		j.st.Position = *j.rec.Start
	}
	j.dirty = true
	if err := j.flush(ctx); j.lost {
		return errGone
	} else if err != nil {
		return err
	}
	return nil
}

// flush stores the state if it changed.
func (j *job) flush(ctx context.Context) error {
	if !j.dirty || j.lost {
		return nil
	}
	b, err := json.Marshal(&j.st)
	if err != nil {
		return err
	}
	rev, err := j.s.kv.Update(ctx, statePrefix+j.rec.ID, b, j.rev)
	if errors.Is(err, eventlog.ErrConflict) {
		j.lost = true
		return err
	}
	if err != nil {
		j.s.log.Warn("webhook: storing state", "webhook", j.rec.ID, "err", err)
		return err
	}
	j.rev, j.dirty = rev, false
	return nil
}

// slot is an event in the window, or a position scanned to (done at once).
type slot struct {
	seq  uint64
	done bool
}

// window is what run knows of the events in flight: the slots in log
// order, and the deliveries under way.
type window struct {
	queue  []*slot
	bySeq  map[uint64]*slot
	flight int
}

func (j *job) run(ctx context.Context) {
	if j.st.Failing {
		<-ctx.Done()
		return
	}
	dctx, stop := context.WithCancel(ctx)
	items := make(chan item, j.window)
	reports := make(chan report, j.window)
	w := &window{bySeq: map[uint64]*slot{}}
	var wg sync.WaitGroup
	// drain ends the deliveries: those under way finish their request
	// (within stopGrace) and report it, so that what was delivered is not
	// delivered again by the next holder.
	drained := false
	drain := func() {
		if drained {
			return
		}
		drained = true
		stop()
		go func() {
			wg.Wait()
			close(reports)
		}()
		for r := range reports {
			j.apply(w, r)
		}
	}
	defer func() {
		drain()
		// A fresh context: ctx is over.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = j.flush(fctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		j.read(dctx, items)
	}()
	tick := time.NewTicker(j.s.cfg.CommitEvery)
	defer tick.Stop()
	j.gauge()
	for !j.lost {
		in := items
		if w.flight >= j.window {
			in = nil
		}
		select {
		case <-ctx.Done():
			return
		case it := <-in:
			if it.err != nil {
				j.fail(it.err.Error())
				drain()
				_ = j.flush(ctx)
				<-ctx.Done()
				return
			}
			if it.ev == nil {
				w.queue = append(w.queue, &slot{seq: it.pos, done: true})
				j.advance(w)
				break
			}
			sl := &slot{seq: it.ev.Seq}
			w.queue = append(w.queue, sl)
			w.bySeq[sl.seq] = sl
			w.flight++
			wg.Add(1)
			go func(ev *hub.Event, r Retry) {
				defer wg.Done()
				j.deliver(dctx, ev, r, reports)
			}(it.ev, j.st.Retries[it.ev.Seq])
		case r := <-reports:
			if j.apply(w, r) {
				drain()
				_ = j.flush(ctx)
				<-ctx.Done()
				return
			}
			if !r.final {
				_ = j.flush(ctx) // rule 2
			}
		case <-tick.C:
			_ = j.flush(ctx)
			j.gauge()
		}
	}
}

// apply takes a delivery's report into the state; it reports whether the
// endpoint is failing now (an event's last try failed, rule 3).
func (j *job) apply(w *window, r report) (failing bool) {
	j.attempted(r)
	if !r.final {
		return false
	}
	w.flight--
	delete(j.st.Retries, r.seq)
	if !r.ok {
		if !j.st.Failing {
			j.fail("event " + itoa(r.seq) + ": no success after " + itoa(uint64(r.a.Try)) + " tries; last: " + describe(&r.a))
		}
		return true
	}
	w.bySeq[r.seq].done = true
	delete(w.bySeq, r.seq)
	j.advance(w)
	return false
}

// advance moves the position over the done slots at the window's head.
func (j *job) advance(w *window) {
	for len(w.queue) > 0 && w.queue[0].done {
		if w.queue[0].seq > j.st.Position {
			j.st.Position, j.dirty = w.queue[0].seq, true
		}
		w.queue = w.queue[1:]
	}
}

// read hands run the events the endpoint wants, in log order, and after
// each page the position it scanned to.
func (j *job) read(ctx context.Context, out chan<- item) {
	sub := j.s.core.Hub.Subscribe(j.st.Position, j.rec.Filter())
	defer sub.Close()
	send := func(it item) bool {
		select {
		case out <- it:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		evs, err := sub.Next(ctx, 64)
		if ctx.Err() != nil {
			return
		}
		var ee *eventlog.ExpiredError
		if errors.As(err, &ee) {
			send(item{err: errors.New("position " + itoa(ee.After) + " is older than retention (earliest event " +
				itoa(ee.Earliest) + "): replay from a retained position to go on")})
			return
		}
		if err != nil {
			j.s.log.Warn("webhook: reading the log", "webhook", j.rec.ID, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		if len(evs) > 0 {
			if err := j.ownerRevoked(ctx); err != nil {
				send(item{err: err})
				return
			}
		}
		for _, ev := range evs {
			if j.rec.wants(ev.Type) && !send(item{ev: ev}) {
				return
			}
		}
		if !send(item{pos: sub.Position()}) {
			return
		}
	}
}

// attempted keeps an attempt in the log, the metrics and, for a failed
// try that is not the last, the retries.
func (j *job) attempted(r report) {
	a := r.a
	j.st.Attempts = append(j.st.Attempts, a)
	if n := len(j.st.Attempts) - j.s.cfg.Attempts; n > 0 {
		j.st.Attempts = append(j.st.Attempts[:0:0], j.st.Attempts[n:]...)
	}
	if !r.final {
		if j.st.Retries == nil {
			j.st.Retries = map[uint64]Retry{}
		}
		j.st.Retries[r.seq] = r.retry
	}
	j.dirty = true
	m := j.s.core.Metrics
	m.WebhookDeliveries.WithLabelValues(j.rec.ID, a.Outcome()).Inc()
	m.WebhookSeconds.WithLabelValues(j.rec.ID).Observe(a.LatencyMS / 1000)
}

func (j *job) fail(why string) {
	now := j.s.cfg.Now().UTC()
	j.st.Failing, j.st.FailingSince, j.st.LastError, j.dirty = true, &now, why, true
	j.s.log.Warn("webhook failing", "webhook", j.rec.ID, "why", why)
}

// gauge sets the lag: how far the position is behind the end of the log
// as this node has seen it (an upper bound of the events not delivered).
func (j *job) gauge() {
	var lag uint64
	if last := j.s.core.Hub.Last(); last > j.st.Position {
		lag = last - j.st.Position
	}
	j.s.core.Metrics.WebhookLag.WithLabelValues(j.rec.ID).Set(float64(lag))
}

// ownerRevoked returns an error once the key that made the endpoint is
// gone: its events were that key's to read, and a revoked key reads
// nothing. It asks the engine at most every Config.OwnerCheckEvery; an
// engine that does not answer is not a revocation.
func (j *job) ownerRevoked(ctx context.Context) error {
	if time.Since(j.checked) < j.s.cfg.OwnerCheckEvery {
		return nil
	}
	_, err := j.s.core.Auth.Get(ctx, j.rec.Owner)
	switch {
	case err == nil:
		j.checked = time.Now()
	case errors.Is(err, auth.ErrNotFound):
		return errors.New("the key that made this webhook (" + j.rec.Owner + ") was revoked: it delivers nothing more; delete it, or make it again with a key that may read its topics")
	default:
		j.s.log.Warn("webhook: checking its key", "webhook", j.rec.ID, "err", err)
	}
	return nil
}
