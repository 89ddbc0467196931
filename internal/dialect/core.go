// Package dialect holds what every API dialect is built from: the shared
// core (log, hub, cursors, auth, metrics) and the one append path they all
// publish through. Each dialect lives in a subpackage and is a thin
// translation over this core.
package dialect

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/metrics"
)

// Core is the shared machinery a dialect is built from.
type Core struct {
	Log     *eventlog.Log
	Hub     *hub.Hub
	Cursors *cursor.Store
	Auth    *auth.Service
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// WriteTimeout cuts a streaming client that accepts no bytes for this long.
	WriteTimeout time.Duration
	// Shutdown ends when the server shuts down: streams end cleanly, after
	// their last complete event, so clients resume exactly.
	Shutdown context.Context
	// FanoutWorkers is how many goroutines serve caught-up SSE streams
	// (default DefaultFanoutWorkers).
	FanoutWorkers int

	mu       sync.Mutex
	stopping bool           // Wait was called: no new detached streams
	streams  sync.WaitGroup // detached streams (see Go)
	fanOnce  sync.Once
	fan      *fanout // the SSE fan-out workers, started on first use
	peerOnce sync.Once
	peer     *peerPoller // reads WebSocket clients (Linux), started on first use
}

// Go runs f, a stream that outlives its HTTP handler (a detached
// connection), so that Wait can wait for it at shutdown. f must return once
// Shutdown ends. Once Wait has begun it runs nothing and returns false: the
// caller closes what it would have handed to f.
func (c *Core) Go(f func()) bool {
	c.mu.Lock()
	if c.stopping {
		c.mu.Unlock()
		return false
	}
	c.streams.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.streams.Done()
		f()
	}()
	return true
}

// StreamCut records why a stream's write failed: a client that accepted
// nothing within the write timeout, or one that went away.
func (c *Core) StreamCut(transport string, err error) {
	reason := "write_error"
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		reason = "write_timeout"
	}
	c.Metrics.StreamsCut.WithLabelValues(transport, reason).Inc()
}

// Wait waits for the streams started with Go; call it after Shutdown ended.
func (c *Core) Wait() {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	c.streams.Wait()
}

// StreamContext returns a context that ends when the request does or the
// server shuts down, for handlers that stream.
func (c *Core) StreamContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(c.Shutdown, cancel) // no goroutine per stream
	return ctx, func() { stop(); cancel() }
}
