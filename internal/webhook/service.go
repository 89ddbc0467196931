package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/native"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// DefaultSchedule is the wait before each try of a delivery: the first at
// once, then after 5 s, 5 min, 30 min, 2 h, 5 h and 10 h (each ± Jitter);
// after the last the endpoint is failing.
var DefaultSchedule = []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour}

// Config configures a Service; zero values are the defaults.
type Config struct {
	Policy   Policy          // which addresses endpoints may have
	Schedule []time.Duration // DefaultSchedule
	Jitter   float64         // ± this fraction of each wait; default 0.2, < 0 for none
	Timeout  time.Duration   // one request, answer included; default 15 s
	Window   int             // deliveries in flight for an unordered endpoint; DefaultWindow
	// CommitEvery is how often a job stores its position while it
	// delivers (default 1 s): a crash redelivers at most what it
	// delivered since, under the same webhook-id.
	CommitEvery time.Duration
	// OwnerCheckEvery is how often a delivering job asks whether the key
	// that made its endpoint still exists (default 5 s); a revoked key's
	// endpoint stops.
	OwnerCheckEvery time.Duration
	Attempts        int // attempts kept per endpoint; default 50
	// HookRate and HookBurst bound the requests one inbound hook accepts
	// per second (default 20, burst 40), before anything costs the engine.
	HookRate  float64
	HookBurst int
	// Seen is how long an inbound delivery id is remembered (default 72 h).
	Seen time.Duration
	Now  func() time.Time
}

// Service runs the webhooks of one node: the delivery jobs this node holds
// the leases of, and the inbound hooks it serves.
//
// Ownership: Open starts two goroutines, Supervise (which starts and stops
// the delivery jobs) and the hooks' watch (the only writer of hooks);
// Close ends both and waits for them.
type Service struct {
	core   *dialect.Core
	kv     eventlog.KV // definitions and states
	seen   eventlog.KV // inbound delivery ids, expiring
	cfg    Config
	log    *slog.Logger
	client *http.Client
	format *hub.Format // the native JSON of an event: the request body

	hooks atomic.Pointer[hookTable]

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// SeenBucket holds the delivery ids of inbound requests already stored.
const SeenBucket = "herald-hook-deliveries"

// Open opens the buckets, loads the inbound hooks and starts following
// them and the endpoints. The service stops when the core shuts down or
// on Close.
func Open(ctx context.Context, core *dialect.Core, cfg Config) (*Service, error) {
	if cfg.Schedule == nil {
		cfg.Schedule = DefaultSchedule
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = 0.2
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.OwnerCheckEvery <= 0 {
		cfg.OwnerCheckEvery = 5 * time.Second
	}
	if cfg.CommitEvery <= 0 {
		cfg.CommitEvery = time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 50
	}
	if cfg.HookRate <= 0 {
		cfg.HookRate, cfg.HookBurst = 20, 40
	}
	if cfg.HookBurst <= 0 {
		cfg.HookBurst = max(1, int(2*cfg.HookRate))
	}
	if cfg.Seen <= 0 {
		cfg.Seen = 72 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	kv, err := core.Log.KV(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	seen, err := core.Log.KV(ctx, SeenBucket, eventlog.KVTTL(cfg.Seen))
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	s := &Service{core: core, kv: kv, seen: seen, cfg: cfg, log: core.Logger,
		format: core.Hub.RegisterFormat("native.json", native.EncodeEvent)}
	s.client = s.newClient()
	s.hooks.Store(&hookTable{})
	if err := s.loadHooks(ctx); err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(core.Shutdown)
	s.cancel = cancel
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		_ = core.Leases.Supervise(bg, kv, endpointPrefix, leasePrefix, s.runJob)
	}()
	go func() {
		defer s.wg.Done()
		eventlog.Follow(bg, s.log, "webhooks: hooks", s.watchHooks)
	}()
	return s, nil
}

// Close stops the jobs (each stores its position first) and the watch.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
	s.client.CloseIdleConnections()
}

// newClient is the HTTP client of deliveries: it dials only where the
// policy allows, never through a proxy (which would dial for it), and
// follows no redirect (a 3xx is an answer like any other non-2xx).
func (s *Service) newClient() *http.Client {
	d := s.cfg.Policy.Dialer()
	d.Timeout = s.cfg.Timeout
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           d.DialContext,
			Proxy:                 nil,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   DefaultWindow,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   s.cfg.Timeout,
			ResponseHeaderTimeout: s.cfg.Timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
