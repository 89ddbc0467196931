package connector

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/metrics"
)

// State is what a connector last said about itself, as stored: the
// counters add up across the nodes that ran it.
type State struct {
	Connected   bool       `json:"connected"`
	Events      uint64     `json:"events"`               // events ingested (appended, not counting duplicates)
	LastEvent   *time.Time `json:"last_event,omitempty"` // the newest ingested event's upstream time
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	Reconnects  uint64     `json:"reconnects"`
	// Stopped is set when the upstream refused the connector for good
	// (ErrStopped); StoppedSpec is the digest of the definition it refused,
	// so that only a changed definition is run again.
	Stopped     bool      `json:"stopped,omitempty"`
	StoppedSpec string    `json:"stopped_spec,omitempty"`
	Node        string    `json:"reported_by,omitempty"` // the node that wrote this
	Updated     time.Time `json:"updated,omitzero"`      // absent until the connector first reports
}

// DefaultStateEvery bounds how often a running connector writes its state.
const DefaultStateEvery = time.Second

// reporter is a running connector's Reporter: it keeps the state in memory,
// updates the metrics at once, and writes the state to the bucket at most
// once per every (and once more when the connector ends).
//
// Ownership: the kind's goroutines call the Reporter methods (under mu);
// the flush goroutine, started by run and waited for by it, is the only
// writer of the bucket entry, and owns rev.
type reporter struct {
	kv    eventlog.KV
	key   string
	node  string
	every time.Duration
	m     *metrics.Metrics
	name  string
	kind  string

	mu    sync.Mutex
	st    State
	dirty bool
	kick  chan struct{} // buffered 1: a change to write
	rev   uint64        // the entry's revision this node last read or wrote
}

func newReporter(kv eventlog.KV, name, kind, node string, every time.Duration, m *metrics.Metrics) *reporter {
	return &reporter{kv: kv, key: statePrefix + name, node: node, every: every, m: m, name: name, kind: kind,
		kick: make(chan struct{}, 1)}
}

// load reads the stored state, so counters go on from where the previous
// holder left them.
func (r *reporter) load(ctx context.Context) error {
	e, err := r.kv.Get(ctx, r.key)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rev = e.Revision
	if json.Unmarshal(e.Value, &r.st) != nil {
		r.st = State{} // damaged: start counting again rather than not run
	}
	r.st.Connected = false
	return nil
}

func (r *reporter) state() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

func (r *reporter) change(f func(*State)) {
	r.mu.Lock()
	f(&r.st)
	r.dirty = true
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *reporter) Connected(up bool) {
	r.change(func(s *State) { s.Connected = up })
	v := 0.0
	if up {
		v = 1
	}
	r.m.ConnectorConnected.WithLabelValues(r.name, r.kind).Set(v)
}

func (r *reporter) Ingested(n int, last time.Time) {
	if n <= 0 {
		return
	}
	r.change(func(s *State) {
		s.Events += uint64(n)
		if !last.IsZero() {
			t := last.UTC()
			s.LastEvent = &t
		}
	})
	r.m.ConnectorEvents.WithLabelValues(r.name, r.kind).Add(float64(n))
	if !last.IsZero() {
		r.m.ConnectorLastEvent.WithLabelValues(r.name, r.kind).Set(float64(last.UnixMilli()) / 1000)
	}
}

func (r *reporter) Failed(err error) {
	if err == nil {
		return
	}
	now := time.Now().UTC()
	r.change(func(s *State) { s.LastError, s.LastErrorAt = clipError(err.Error()), &now })
	r.m.ConnectorErrors.WithLabelValues(r.name, r.kind).Inc()
}

func (r *reporter) Reconnecting() {
	r.change(func(s *State) { s.Reconnects++ })
	r.m.ConnectorReconnects.WithLabelValues(r.name, r.kind).Inc()
}

// stopped records that the upstream refused the definition digested as spec.
func (r *reporter) stopped(spec string) {
	r.change(func(s *State) { s.Stopped, s.StoppedSpec = true, spec })
}

func clipError(s string) string {
	if len(s) > 512 {
		return s[:512] + "…"
	}
	return s
}

// flush writes the state when it changed, at most once per every, until
// ctx ends; then once more, so the last word is stored.
func (r *reporter) flush(ctx context.Context) {
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	pending := false
	for {
		select {
		case <-ctx.Done():
			wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			r.write(wctx)
			cancel()
			return
		case <-r.kick:
			pending = true
		case <-tick.C:
			if pending {
				pending = false
				r.write(ctx)
			}
		}
	}
}

// write stores the state with compare-and-set on the revision this node
// knows: a connector deleted meanwhile (its entry gone) is not written
// back.
func (r *reporter) write(ctx context.Context) {
	r.mu.Lock()
	if !r.dirty {
		r.mu.Unlock()
		return
	}
	r.dirty = false
	st := r.st
	rev := r.rev
	r.mu.Unlock()
	st.Node, st.Updated = r.node, time.Now().UTC()
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	var next uint64
	if rev == 0 {
		next, err = r.kv.Create(ctx, r.key, b)
	} else {
		next, err = r.kv.Update(ctx, r.key, b, rev)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if !errors.Is(err, eventlog.ErrConflict) {
			r.dirty = true // try again at the next tick
		}
		return
	}
	r.rev = next
}

// forget drops this connector's series from the node's metrics: only the
// node that runs a connector reports it.
func (r *reporter) forget() {
	for _, v := range r.m.ConnectorVecs() {
		v.DeleteLabelValues(r.name, r.kind)
	}
}
