// Package dialect is the toolkit every API dialect is built from: the
// shared core (log, hub, cursors, keys, delivery, fault rules; see Open),
// the one request pipeline (Guard), the one table from errors to what a
// client is told (Classify), start positions (Start), the one forward scan
// of the log (Scan), and Append, the one way into the log. Each dialect
// lives in a subpackage and is a thin translation over it.
package dialect

import (
	"context"
	"log/slog"
	"sync"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/auth/apptoken"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/lease"
	"github.com/herald-io/herald/internal/metrics"
)

// Core is the shared machinery a dialect is built from; Open builds one.
type Core struct {
	Log     *eventlog.Log
	Hub     *hub.Hub
	Cursors *cursor.Store
	Auth    *auth.Service
	// AppTokens verifies app-signed tokens (JWTs) for the native API; nil
	// when none are accepted.
	AppTokens *apptoken.Verifier
	Metrics   *metrics.Metrics
	Logger    *slog.Logger
	// Shutdown ends when the server shuts down: streams end cleanly, after
	// their last complete event, so clients resume exactly.
	Shutdown context.Context
	// Deliver serves live streams (SSE, WebSocket) and runs what outlives
	// a handler until shutdown.
	Deliver *deliver.Engine
	// Faults holds the fault rules the guard and the delivery engine
	// apply (none unless configured).
	Faults *faults.Store
	// Node is this process's id among the nodes serving the log; Leases
	// runs each background job (a webhook endpoint, a route, a connector)
	// on exactly one node at a time.
	Node   string
	Leases *lease.Elector

	authLog    *authLog           // failed authentications, rate-bound (see authFailed)
	cancel     context.CancelFunc // ends Shutdown (see Open)
	background sync.WaitGroup     // the cursor store's expiry loop and what Go started
	closeOnce  sync.Once
}
