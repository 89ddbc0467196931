package connector

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// An Observer is a Kind that also acts on every node, not only on the one
// running a connector: the Plex kind proxies its clients' other requests to
// the server. Observe is called on every node with the stored specs of its
// kind (secrets included, sorted by name) once they are known and after
// every change; it must not block.
type Observer interface {
	Observe(specs []Spec)
}

// Config configures a node's connectors.
type Config struct {
	// Kinds are the kinds this node can run, by Spec.Kind.
	Kinds map[string]Kind
	// StateEvery bounds how often a running connector's state is written
	// (default DefaultStateEvery).
	StateEvery time.Duration
}

// Service keeps the connectors stored in the engine: it serves
// /v1/connectors, runs each connector on the one node holding its lease,
// and tells Observers about every change.
//
// Ownership: Start's goroutines (the supervisor, the observer watch, the
// sweeps of removed connectors it starts) run until Close, which cancels
// and waits for them; each connector's job, its reporter's flush goroutine
// and its HTTP client belong to the job. mu guards running and sweeping.
type Service struct {
	core   *dialect.Core
	kinds  map[string]Kind
	st     store
	every  time.Duration
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	running  map[string]bool // connectors whose job runs on this node
	sweeping map[string]bool // removed connectors whose leftovers a sweep undoes
}

// New opens the connectors' bucket.
func New(ctx context.Context, core *dialect.Core, cfg Config) (*Service, error) {
	kv, err := core.Log.KV(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("connectors: %w", err)
	}
	if cfg.StateEvery <= 0 {
		cfg.StateEvery = DefaultStateEvery
	}
	return &Service{core: core, kinds: cfg.Kinds, st: store{kv: kv}, every: cfg.StateEvery,
		log: core.Logger.With("component", "connector"), running: map[string]bool{}, sweeping: map[string]bool{}}, nil
}

// Start runs the connectors this node is elected for, and the observers,
// until Close.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		_ = s.core.Leases.Supervise(ctx, s.st.kv, defPrefix, defPrefix, s.job)
	}()
	go func() {
		defer s.wg.Done()
		s.observe(ctx)
	}()
}

// Close stops every connector running on this node (each gives its lease
// back, so another node takes over at once) and waits for them.
func (s *Service) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// digest names a stored definition's exact bytes.
func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// job runs one connector while this node holds its lease.
func (s *Service) job(ctx context.Context, def eventlog.Entry) {
	spec, err := decodeSpec(def.Value)
	if err != nil {
		s.log.Error("connector definition unreadable", "key", def.Key, "err", err)
		<-ctx.Done()
		return
	}
	log := s.log.With("connector", spec.Name, "kind", spec.Kind)
	kind, ok := s.kinds[spec.Kind]
	if !ok { // stored by a node that knows more kinds than this one
		log.Warn("connector of a kind this node cannot run")
		<-ctx.Done()
		return
	}
	s.mu.Lock()
	s.running[spec.Name] = true
	s.mu.Unlock()
	defer func() {
		s.afterRun(spec, kind, log)
		s.mu.Lock()
		delete(s.running, spec.Name)
		s.mu.Unlock()
	}()
	rep := newReporter(s.st.kv, spec.Name, spec.Kind, s.core.Node, s.every, s.core.Metrics)
	defer rep.forget()
	if err := rep.load(ctx); err != nil {
		log.Warn("connector state unreadable; starting without it", "err", err)
	}
	sum := digest(def.Value)
	if st := rep.state(); st.Stopped && st.StoppedSpec == sum {
		log.Info("connector stays stopped until its definition changes", "err", st.LastError)
		<-ctx.Done()
		return
	}
	rep.change(func(st *State) { st.Stopped, st.StoppedSpec = false, "" })
	fctx, stopFlush := context.WithCancel(context.Background())
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		rep.flush(fctx)
	}()
	defer func() {
		stopFlush()
		<-flushed
	}()

	client := HTTPClient(spec)
	defer client.CloseIdleConnections()
	log.Info("connector running", "node", s.core.Node)
	err = kind.Run(ctx, Env{
		Core: s.core, Spec: spec, Report: rep, HTTP: client, Logger: log,
		Positions: positions{kv: s.st.kv, name: spec.Name},
	})
	switch {
	case errors.Is(err, ErrStopped):
		log.Warn("connector stopped by its upstream; change its definition to run it again", "err", err)
		rep.Failed(err)
		rep.stopped(sum)
		<-ctx.Done() // keep the lease: no other node should try either
	case ctx.Err() == nil:
		log.Warn("connector returned; it runs again shortly", "err", err)
		rep.Failed(err)
	}
}

// HTTPClient is a connector's client for its upstream: the spec's TLS
// setting, bounded connection set-up, and no overall timeout (streams and
// long-polls are bounded by their kind, with contexts).
func HTTPClient(spec Spec) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 10 * time.Second
	if spec.InsecureTLS {
		// Bridges and media servers on a home network present self-signed
		// certificates; the operator asked for it by name.
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec
	}
	return &http.Client{Transport: tr}
}

// observe follows the definitions, hands each Observer kind its specs and
// sweeps what removed connectors of Remover kinds left.
func (s *Service) observe(ctx context.Context) {
	var observers []string
	removers := false
	for name, k := range s.kinds {
		if _, ok := k.(Observer); ok {
			observers = append(observers, name)
		}
		if _, ok := k.(Remover); ok {
			removers = true
		}
	}
	if len(observers) == 0 && !removers {
		return
	}
	eventlog.Follow(ctx, s.log, "connector definitions", func(ctx context.Context) error {
		specs := map[string]Spec{}
		ready := false
		tell := func() {
			for _, kind := range observers {
				var of []Spec
				for _, sp := range specs {
					if sp.Kind == kind {
						of = append(of, sp)
					}
				}
				slices.SortFunc(of, func(a, b Spec) int { return strings.Compare(a.Name, b.Name) })
				s.kinds[kind].(Observer).Observe(of)
			}
			s.sweep(ctx, specs)
		}
		return s.st.kv.Watch(ctx, defPrefix, func(e eventlog.Entry) {
			if e.Key == "" {
				ready = true
				tell()
				return
			}
			name := strings.TrimPrefix(e.Key, defPrefix)
			if e.Value == nil {
				delete(specs, name)
			} else if sp, err := decodeSpec(e.Value); err == nil {
				specs[name] = sp
			}
			if ready {
				tell()
			}
		})
	})
}

// Spec returns the stored definition of the connector name, its secret
// included: for what serves a connector's clients on every node (the Hue
// dialect forwards a mirrored bridge's writes with its key).
func (s *Service) Spec(ctx context.Context, name string) (Spec, error) {
	spec, _, err := s.st.spec(ctx, name)
	return spec, err
}
