package dialect

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"time"

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

// Config is what Open builds a core from, besides the log. Zero values
// are the services' own defaults.
type Config struct {
	Logger  *slog.Logger     // default: discard
	Metrics *metrics.Metrics // default: a fresh registry
	Hub     hub.Config
	Auth    auth.Config
	Cursor  cursor.Config
	// Deliver configures the delivery engine; its Hub, Metrics, Logger
	// and Shutdown are the core's.
	Deliver deliver.Config
	// AppTokens are the app-signed tokens the native API accepts besides
	// keys (none unless configured); its Logger defaults to the core's.
	AppTokens apptoken.Config
	// Node is this process's id among the nodes serving the log, the
	// holder named in the leases it takes (default: a random id).
	Node     string
	LeaseTTL time.Duration // 0: lease.DefaultTTL
}

// Open builds the core over an open log: the hub on its tail, the key
// service (loaded and following the engine), the verifier of app-signed
// tokens, the cursor store and its expiry sweeper, the delivery engine, the
// fault rules (loaded and following the engine) and the leases that put
// each background job on one node. Close stops them; the log stays the
// caller's.
func Open(ctx context.Context, log *eventlog.Log, cfg Config) (_ *Core, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	cfg.Hub.Logger = cmpLogger(cfg.Hub.Logger, cfg.Logger)
	cfg.Auth.Logger = cmpLogger(cfg.Auth.Logger, cfg.Logger)
	cfg.Cursor.Logger = cmpLogger(cfg.Cursor.Logger, cfg.Logger)
	bg, cancel := context.WithCancel(context.Background())
	c := &Core{Log: log, Metrics: cfg.Metrics, Logger: cfg.Logger, Shutdown: bg, cancel: cancel,
		authLog: newAuthLog(cfg.Auth.Now)}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if c.Hub, err = hub.Start(ctx, log, cfg.Hub); err != nil {
		return nil, err
	}
	keys, err := log.KV(ctx, "herald-keys")
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	c.Auth = auth.New(keys, cfg.Auth)
	if err := c.Auth.Start(bg); err != nil {
		return nil, err
	}
	cfg.AppTokens.Logger = cmpLogger(cfg.AppTokens.Logger, cfg.Logger)
	if c.AppTokens, err = apptoken.New(ctx, cfg.AppTokens); err != nil {
		return nil, err
	}
	cursors, err := log.KV(ctx, "herald-cursors")
	if err != nil {
		return nil, fmt.Errorf("cursors: %w", err)
	}
	store := cursor.New(cursors, c.Hub, c.Hub, cfg.Cursor) // reads from the hub's window when it can
	c.Cursors = store
	c.Go(store.Run)
	fkv, err := log.KV(ctx, faults.Bucket)
	if err != nil {
		return nil, fmt.Errorf("faults: %w", err)
	}
	// The engine exists before the rules are followed: a change of them
	// makes it look at its streams again.
	c.Faults = faults.New(fkv, faults.Config{Logger: cfg.Logger, Metrics: c.Metrics,
		OnChange: func() { c.Deliver.FaultsChanged() }})
	dcfg := cfg.Deliver
	dcfg.Hub, dcfg.Metrics, dcfg.Logger, dcfg.Shutdown, dcfg.Faults = c.Hub, c.Metrics, c.Logger, bg, c.Faults
	c.Deliver = deliver.New(dcfg)
	if c.Node = cfg.Node; c.Node == "" {
		c.Node = rand.Text()[:12]
	}
	lkv, err := log.KV(ctx, lease.Bucket)
	if err != nil {
		return nil, fmt.Errorf("leases: %w", err)
	}
	c.Leases = lease.New(lkv, lease.Config{Holder: c.Node, TTL: cfg.LeaseTTL, Logger: cfg.Logger})
	if err := c.Faults.Start(bg); err != nil {
		c.Faults = nil // nothing to close
		return nil, err
	}
	return c, nil
}

func cmpLogger(l, def *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return def
}

// Stop ends the core's streams and background work, as a shutdown does:
// streams end after their last whole event, so clients resume exactly.
func (c *Core) Stop() {
	if c.cancel != nil {
		c.cancel()
	}
}

// Close stops the core and waits for what it started; it is safe to call
// more than once.
func (c *Core) Close() {
	c.closeOnce.Do(func() {
		c.Stop()
		if c.Deliver != nil {
			c.Deliver.Wait()
		}
		c.background.Wait()
		if c.Faults != nil {
			c.Faults.Close()
		}
		if c.Auth != nil {
			c.Auth.Close()
		}
		c.AppTokens.Close() // nil-safe
		if c.Hub != nil {
			c.Hub.Close()
		}
	})
}

// Go runs f in the background until the core stops (f's ctx is Shutdown);
// Close waits for it. Background jobs (routes, webhook deliveries,
// connectors) run so.
func (c *Core) Go(f func(ctx context.Context)) {
	c.background.Add(1)
	go func() {
		defer c.background.Done()
		f(c.Shutdown)
	}()
}
