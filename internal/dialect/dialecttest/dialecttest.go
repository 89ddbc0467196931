// Package dialecttest builds a real core (embedded engine, hub, cursors,
// keys, metrics) for a dialect's tests, and serves a dialect over HTTP.
package dialecttest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// Options adjust the core.
type Options struct {
	Log          eventlog.Config // Dir defaults to a temporary directory
	WriteTimeout time.Duration
	Logger       *slog.Logger
	// CursorNow is the cursor store's clock (idle expiry tests).
	CursorNow func() time.Time
	// AuthNow is the key service's clock (rate limits), also the bound on
	// the log of failed authentications.
	AuthNow func() time.Time
	// Deliver, if set, adjusts the delivery engine's configuration.
	Deliver func(*deliver.Config)
}

// Core is a running core (its Stop ends streams as a server shutdown
// would).
type Core struct {
	*dialect.Core
}

// NewCore starts a core on a temporary directory with dialect.Open, as the
// server does; everything is closed when the test ends.
func NewCore(t testing.TB, opts Options) *Core {
	t.Helper()
	ctx := context.Background()
	if opts.Log.Dir == "" && len(opts.Log.URLs) == 0 {
		opts.Log.Dir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	l, err := eventlog.Open(ctx, opts.Log)
	if err != nil {
		t.Fatal(err)
	}
	dcfg := deliver.Config{WriteTimeout: opts.WriteTimeout}
	if opts.Deliver != nil {
		opts.Deliver(&dcfg)
	}
	c, err := dialect.Open(ctx, l, dialect.Config{
		Logger:  opts.Logger,
		Cursor:  cursor.Config{Now: opts.CursorNow},
		Auth:    auth.Config{Now: opts.AuthNow},
		Deliver: dcfg,
	})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		l.Close()
	})
	return &Core{c}
}

// Key creates a key and returns its token.
func (c *Core) Key(t testing.TB, spec auth.Spec) string {
	t.Helper()
	_, token, err := c.Auth.Create(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// Serve mounts routes on a fresh mux and serves it over HTTP until the
// test ends (streams are ended first, as on a server shutdown).
func (c *Core) Serve(t testing.TB, mount func(*http.ServeMux)) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mount(mux)
	// As the server does: plain HTTP/1.1 connections are the engine's.
	c.Deliver.SetHandler(mux, deliver.ConnLimits{})
	srv := httptest.NewServer(c.Deliver.Adopting(mux))
	t.Cleanup(func() {
		c.Stop()
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}
