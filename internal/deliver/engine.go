package deliver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/metrics"
)

// Config is what an Engine is built from.
type Config struct {
	Hub     *hub.Hub
	Metrics *metrics.Metrics
	Logger  *slog.Logger // default: discard
	// WriteTimeout cuts a streaming client that accepts no bytes for this
	// long (0: the framing default).
	WriteTimeout time.Duration
	// Workers is how many goroutines serve caught-up streams (0:
	// DefaultWorkers).
	Workers int
	// IOUring has the workers send a round's writes in batches through
	// io_uring instead of one writev each (Linux; elsewhere, or where
	// io_uring is disabled, they use writev).
	IOUring bool
	// StreamsPerKey caps the streams one key may have open at once on
	// this engine (0: DefaultStreamsPerKey; < 0: no cap).
	StreamsPerKey int
	// PeerFrameTimeout bounds how long a frame a WebSocket client has
	// begun may take to arrive whole (0: 10s).
	PeerFrameTimeout time.Duration
	// Shutdown ends when the server shuts down: streams end cleanly, after
	// their last complete event, so clients resume exactly.
	Shutdown context.Context
	// Faults are the fault rules streams may suffer (nil: none); call
	// FaultsChanged when they change.
	Faults *faults.Store
}

// Engine serves live streams. Its workers and poller start on first use;
// after Shutdown ends, Wait waits for everything it started.
type Engine struct {
	hub          *hub.Hub
	metrics      *metrics.Metrics
	logger       *slog.Logger
	writeTimeout time.Duration
	workers      int
	ioUring      bool // Config.IOUring
	shutdown     context.Context
	peerFrame    time.Duration // Config.PeerFrameTimeout
	keys         *keyStreams
	faults       *faults.Store
	wake         atomic.Pointer[faultWake] // cancelled when the rules change

	mu       sync.Mutex
	stopping bool           // Wait was called: no new detached streams
	streams  sync.WaitGroup // detached streams (see Go)
	fanOnce  sync.Once
	fan      atomic.Pointer[fanout] // the fan-out workers, started on first use
	peerOnce sync.Once
	peer     *peerPoller // reads WebSocket clients and detached connections (Linux), started on first use

	// Detached HTTP connections (conn.go): the handler that serves their
	// requests and its limits (SetHandler), and the connections' states.
	serving     atomic.Pointer[connHandler]
	connMu      sync.Mutex
	idle        map[*conn]struct{} // waiting for their next request
	lastSweep   int64
	parkedCount atomic.Int64 // polls parked with the workers
	tasks       chan func()  // to an idle pooled goroutine (unbuffered; goPooled)
	idleReaders atomic.Int32 // pooled goroutines waiting on tasks
	gate        *gate[*conn] // bounds how many conns are served at once (serveConn)
}

// New returns an engine; it starts nothing until a stream needs it.
func New(cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Shutdown == nil {
		cfg.Shutdown = context.Background()
	}
	if cfg.PeerFrameTimeout <= 0 {
		cfg.PeerFrameTimeout = defaultPeerFrameTimeout
	}
	e := &Engine{
		hub: cfg.Hub, metrics: cfg.Metrics, logger: cfg.Logger,
		writeTimeout: cfg.WriteTimeout, workers: cfg.Workers, ioUring: cfg.IOUring, shutdown: cfg.Shutdown,
		peerFrame: cfg.PeerFrameTimeout, keys: newKeyStreams(cfg.StreamsPerKey), faults: cfg.Faults,
	}
	e.wake.Store(newFaultWake())
	e.idle = map[*conn]struct{}{}
	e.tasks = make(chan func())
	queued, waited := gateMetrics(cfg.Metrics)
	e.gate = newGate(gateLimit(), gateHold, e.goPooled, e.serve, (*conn).close, queued, waited)
	return e
}

// gateMetrics returns the gate's collectors: m's, or for an engine
// without metrics (a test's) ones nobody reads.
func gateMetrics(m *metrics.Metrics) (prometheus.Gauge, prometheus.Counter) {
	if m == nil {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: "unread"}), prometheus.NewCounter(prometheus.CounterOpts{Name: "unread"})
	}
	return m.RequestsQueued, m.RequestsQueuedTotal
}

// Go runs f, work that outlives its HTTP handler (a detached stream, a
// dialect's background loop), so that Wait can wait for it at shutdown. f
// must return once Shutdown ends. Once Wait has begun it runs nothing and
// returns false: the caller closes what it would have handed to f.
func (e *Engine) Go(f func()) bool {
	if !e.track() {
		return false
	}
	go func() {
		defer e.streams.Done()
		f()
	}()
	return true
}

// track counts work Wait waits for, which calls e.streams.Done when it
// ends; false once Wait has begun.
func (e *Engine) track() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopping {
		return false
	}
	e.streams.Add(1)
	return true
}

// Wait waits for what was started with Go; call it after Shutdown ended.
func (e *Engine) Wait() {
	e.mu.Lock()
	e.stopping = true
	e.mu.Unlock()
	e.streams.Wait()
}

// StreamContext returns a context that ends when the request does or the
// server shuts down, for handlers that stream or wait.
func (e *Engine) StreamContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(e.shutdown, cancel) // no goroutine per stream
	return ctx, func() { stop(); cancel() }
}

// responseTimeout bounds a blocking write of an answer on a detached
// connection.
func (e *Engine) responseTimeout() time.Duration {
	if e.writeTimeout > 0 {
		return e.writeTimeout
	}
	return 30 * time.Second
}

// streamCut records why a stream's write failed: a client that accepted
// nothing within the write timeout, or one that went away.
func (e *Engine) streamCut(transport string, err error) {
	reason := "write_error"
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		reason = "write_timeout"
	}
	e.metrics.StreamsCut.WithLabelValues(transport, reason).Inc()
}
