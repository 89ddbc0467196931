package deliver

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/hub"
)

// Fault rules (internal/faults) change how a stream is delivered, never
// what: a stream may be cut after a whole event (the client resumes from
// the last one it got) or have each write held. What a stream suffers is
// decided when it opens and again when its owner sees that the rules in
// effect changed (one pointer compare per write or worker round), so a
// stream no rule matches pays nothing per event. The decision is part of
// the stream, like the rest of it its owner's alone.

// streamFaults is what the rules do to one stream.
type streamFaults struct {
	f       faults.StreamFault
	left    int   // CutAfter: events still to write before the cut
	cutAt   int64 // unix nanoseconds; 0: no timed cut
	delayed prometheus.Counter
}

// FaultsChanged wakes the fan-out workers to look at their streams again:
// the rules in effect changed (a "now" cut then happens at once). A stream
// with a goroutine of its own looks at its next write or keep-alive.
func (e *Engine) FaultsChanged() {
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

// openFaults decides, as a stream opens, what the rules in effect do to it.
func (e *Engine) openFaults(st *stream) {
	st.opened = time.Now()
	st.gather = st.spec.Gather
	e.decideFaults(st, e.faults.Rules())
}

// decideFaults decides what rs does to the stream. A stream keeps counting
// the events of an after_events rule that still applies to it.
func (e *Engine) decideFaults(st *stream, rs *faults.Rules) {
	old := st.fault
	st.rules, st.fault, st.gather = rs, nil, st.spec.Gather
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

// cut ends a stream for a fault rule, through the one end path.
func (e *Engine) cut(st *stream) {
	e.metrics.StreamsCut.WithLabelValues(st.spec.Transport, "fault").Inc()
	e.metrics.FaultsInjected.WithLabelValues(st.spec.Dialect, string(faults.CutStream)).Inc()
	e.end(st)
}

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
