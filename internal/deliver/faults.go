package deliver

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-io/herald/internal/framing"

	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/hub"
)

// Fault rules (internal/faults) change how a stream is delivered, never
// what: a stream may be cut after a whole event (the client resumes from
// the last one it got) or have each write held. What a stream suffers is
// decided when it opens and again when its owner sees that the rules in
// effect changed (one pointer compare per write or worker round), so a
// stream no rule matches pays nothing per event. The decision is part of
// the stream, like the rest of it its owner's alone. A restart's cut says
// goodbye as a shutdown does (a WebSocket's close 1001); a slow stream
// (slow_read) is written by a goroutine of its own at the rule's rate, as
// the fan-out workers' writes never wait.

// streamFaults is what the rules do to one stream.
type streamFaults struct {
	f       faults.StreamFault
	left    int   // CutAfter: events still to write before the cut
	cutAt   int64 // unix nanoseconds; 0: no timed cut
	delayed prometheus.Counter
}

// FaultsChanged wakes the fan-out workers, and the streams' goroutines
// waiting for events, to look at their streams again: the rules in effect
// changed (a "now" cut or a restart then happens at once).
func (e *Engine) FaultsChanged() {
	if old := e.wake.Swap(newFaultWake()); old != nil {
		old.cancel()
	}
	f := e.fan.Load()
	if f == nil {
		return
	}
	for _, w := range f.workers {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// faultWake is a context cancelled at the next change of the rules (and
// then replaced): a stream's goroutine waits for events under it too, so
// a change reaches the streams no worker owns without their keep-alive.
type faultWake struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func newFaultWake() *faultWake {
	ctx, cancel := context.WithCancel(context.Background())
	return &faultWake{ctx: ctx, cancel: cancel}
}

// waitCtx is what a stream's goroutine waits for events under: its own
// context, also cancelled when the rules change. One per run, renewed
// after a change, not one per wait.
type waitCtx struct {
	context.Context
	cancel context.CancelFunc
	stop   func() bool
}

func (e *Engine) waitUnder(ctx context.Context) *waitCtx {
	w := &waitCtx{}
	w.Context, w.cancel = context.WithCancel(ctx)
	// A wake already cancelled (a change since the Load) runs at once:
	// the change is seen either way.
	w.stop = context.AfterFunc(e.wake.Load().ctx, w.cancel)
	return w
}

func (w *waitCtx) release() {
	w.stop()
	w.cancel()
}

// openFaults decides, as a stream opens, what the rules in effect do to it;
// it opened before its client could see it had (a rule made once the
// client saw the head is for streams open then).
func (e *Engine) openFaults(st *stream, opened time.Time) {
	st.opened = opened
	st.gather = st.spec.Gather
	e.decideFaults(st, e.faults.Rules())
}

// decideFaults decides what rs does to the stream. A stream keeps counting
// the events of an after_events rule that still applies to it.
func (e *Engine) decideFaults(st *stream, rs *faults.Rules) {
	old := st.fault
	st.rules, st.fault, st.gather = rs, nil, st.spec.Gather
	defer func() {
		if sf := st.fault; sf != nil && sf.f.Rate > 0 {
			if old == nil || old.f.Rate != sf.f.Rate {
				st.out.SetPacer(faults.NewPacer(e.shutdown, sf.f.Rate))
				e.metrics.FaultsInjected.WithLabelValues(st.spec.Dialect, string(faults.SlowRead)).Inc()
			}
		} else if st.out.Paced() {
			st.out.SetPacer(nil)
		}
	}()
	if rs == nil {
		return
	}
	f, ok := rs.Stream(st.spec.Dialect, st.spec.Key, st.spec.Sub.Filter(), st.opened)
	if !ok {
		return
	}
	sf := &streamFaults{f: f, left: f.CutAfter}
	if old != nil && f.CutAfter > 0 && old.f.CutRule == f.CutRule {
		sf.left = old.left
	}
	if !f.CutAt.IsZero() {
		sf.cutAt = f.CutAt.UnixNano()
	}
	if f.Delay > 0 {
		st.gather = max(st.gather, f.Delay) // held like a gather window, by whoever owns it
		sf.delayed = e.metrics.FaultsInjected.WithLabelValues(st.spec.Dialect, string(faults.Delay))
	}
	st.fault = sf
}

// cutDue looks at the rules again if they changed and reports whether the
// stream is to be cut now. Its owner calls it between whole writes.
func (e *Engine) cutDue(st *stream, rs *faults.Rules, nowNs int64) bool {
	if st.rules != rs {
		e.decideFaults(st, rs)
	}
	sf := st.fault
	return sf != nil && ((sf.f.CutAfter > 0 && sf.left <= 0) || (sf.cutAt != 0 && nowNs >= sf.cutAt))
}

// wsRestarting is what a WebSocket gets when a restart rule cuts it: what
// it gets when the server really shuts down, but for the reason.
var wsRestarting = framing.WSClose(framing.WSGoingAway, "server restarting")

// cut ends a stream for a fault rule, through the one end path; a
// restart's cut says goodbye first, if the stream has a way to.
func (e *Engine) cut(st *stream) {
	action := faults.CutStream
	if sf := st.fault; sf != nil && sf.f.Restart && sf.cutAt != 0 && time.Now().UnixNano() >= sf.cutAt {
		action = faults.Restart
		if st.bye != nil {
			st.bye, st.sayBye = wsRestarting, true
		}
	}
	e.metrics.StreamsCut.WithLabelValues(st.spec.Transport, "fault").Inc()
	e.metrics.FaultsInjected.WithLabelValues(st.spec.Dialect, string(action)).Inc()
	e.end(st)
}

// paced reports whether the stream is written at a slow_read rule's rate:
// by a goroutine of its own, never by a fan-out worker.
func (st *stream) paced() bool { return st.fault != nil && st.fault.f.Rate > 0 }

// clip keeps of evs the events still to write before an after_events cut;
// the subscription goes back to just after the last kept, so that what
// was clipped is read again if the stream goes on (a dialect's frames may
// carry fewer events than they are given).
func (st *stream) clip(evs []*hub.Event) []*hub.Event {
	sf := st.fault
	if sf == nil || sf.f.CutAfter == 0 || len(evs) <= sf.left || len(evs) == 0 {
		return evs
	}
	n := max(sf.left, 0)
	st.spec.Sub.Reset(evs[0].Seq - 1)
	if n > 0 {
		st.spec.Sub.Reset(evs[n-1].Seq)
	}
	clear(evs[n:])
	return evs[:n]
}

// counted takes n written events off what an after_events cut allows.
func (st *stream) counted(n int) {
	if sf := st.fault; sf != nil && sf.f.CutAfter > 0 {
		sf.left -= n
	}
}

// held counts a write a delay rule holds.
func (st *stream) held() {
	if sf := st.fault; sf != nil && sf.delayed != nil {
		sf.delayed.Inc()
	}
}

// idleWait is how long the stream's goroutine waits for events before it
// sends a keep-alive, or cuts it for a timed rule.
func (st *stream) idleWait() time.Duration {
	d := st.spec.KeepAlive
	if sf := st.fault; sf != nil && sf.cutAt != 0 {
		d = max(min(d, time.Until(time.Unix(0, sf.cutAt))), time.Millisecond)
	}
	return d
}
