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
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/metrics"
)

// Options adjust the core.
type Options struct {
	Log          eventlog.Config // Dir defaults to a temporary directory
	WriteTimeout time.Duration
	Logger       *slog.Logger
	// CursorNow is the cursor store's clock (idle expiry tests).
	CursorNow func() time.Time
	// Deliver, if set, adjusts the delivery engine's configuration.
	Deliver func(*deliver.Config)
}

// Core is a running core and what it was built from.
type Core struct {
	*dialect.Core
	// Stop ends streams as a server shutdown would.
	Stop context.CancelFunc
}

// NewCore starts a core on a temporary directory; everything is closed
// when the test ends.
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
	h, err := hub.Start(ctx, l, hub.Config{})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	keysKV, err := l.KV(ctx, "herald-keys")
	if err != nil {
		t.Fatal(err)
	}
	a := auth.New(keysKV, auth.Config{})
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cursorsKV, err := l.KV(ctx, "herald-cursors")
	if err != nil {
		t.Fatal(err)
	}
	shutdown, stop := context.WithCancel(ctx)
	m := metrics.New()
	dcfg := deliver.Config{Hub: h, Metrics: m, Logger: opts.Logger, WriteTimeout: opts.WriteTimeout, Shutdown: shutdown}
	if opts.Deliver != nil {
		opts.Deliver(&dcfg)
	}
	c := &Core{
		Core: &dialect.Core{
			Log: l, Hub: h, Auth: a, Metrics: m, Logger: opts.Logger,
			Cursors:  cursor.New(cursorsKV, h, h, cursor.Config{Now: opts.CursorNow}),
			Shutdown: shutdown, Deliver: deliver.New(dcfg),
		},
		Stop: stop,
	}
	t.Cleanup(func() {
		stop()
		c.Deliver.Wait()
		a.Close()
		h.Close()
		l.Close()
	})
	return c
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
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		c.Stop()
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}
