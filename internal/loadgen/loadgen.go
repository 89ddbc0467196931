// Package loadgen is herald's load tool (`herald bench`): it opens many
// subscribers — on herald's native SSE, WebSocket or long-poll, its Hue,
// Plex or Zulip dialect, or any server's SSE — publishes events that carry
// their send time and a sequence number, and reports delivery latency,
// completeness per subscriber and the server's cost, next to the bare cost
// of a write on the same machine. It is lean on purpose — it shares the
// machine with the server it measures — so its receivers scan bytes in
// place and allocate nothing per event.
package loadgen

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a run.
const (
	DefaultTopic      = "bench.load"
	DefaultPublishers = 4
	DefaultDrain      = 10 * time.Second
	// connectConcurrency bounds subscriptions being opened at once.
	connectConcurrency = 64
)

// Config describes one run.
type Config struct {
	Mode        string        // one of Modes(); default sse
	URL         string        // herald's base URL (not used by the generic mode)
	Key         string        // key that may publish and read Topic; an admin key for hue, plex and zulip
	Subscribers int           // subscriptions (streams, sockets or queues)
	Publishers  int           // concurrent publishers
	Rate        float64       // events/s in total; 0 publishes as fast as possible
	Duration    time.Duration // publishing time
	Events      int           // stop after this many events (0: publish for Duration)
	Drain       time.Duration // after publishing, give up waiting for deliveries when none came this long
	Topic       string        // topic published to and subscribed (a dialect's prefix is added)
	Payload     int           // extra payload bytes per event
	ServerPID   int           // measure this process's CPU and RSS (0: don't)
	Cleanup     bool          // remove the users and keys the run made on the server
	PullEvery   time.Duration // jetstream: how often each subscriber asks (default DefaultPullEvery)

	// The generic mode: SSE subscribers on SubURL, publishers sending
	// PubMethod PubURL with PubBody, whose {payload} is replaced by the
	// event's payload; {topic}, {url} and {key} in any of them by Topic, URL
	// and Key. Headers are "Name: value".
	SubURL, PubURL, PubMethod, PubBody string
	SubHeaders, PubHeaders             []string

	// Floor measures the bare cost of a write on this machine first (see
	// MeasureFloor), with as many connections as subscribers.
	Floor         bool
	FloorDuration time.Duration

	Progress func(Progress) // called about once a second
}

// Progress is reported about once a second.
type Progress struct {
	Phase     string // "floor", "prepare", "connect", "settle", "publish" or "drain"
	Elapsed   time.Duration
	Connected int
	Published uint64
	Delivered uint64
}

// Result is what a run measured.
type Result struct {
	Mode             string   `json:"mode"`
	Subscribers      int      `json:"subscribers"`
	ConnectSeconds   float64  `json:"connect_s"`
	SettleSeconds    float64  `json:"settle_s"` // from connected to publishing (see settle)
	Published        uint64   `json:"published"`
	PublishRate      float64  `json:"published_per_s"`
	Delivered        uint64   `json:"delivered"`
	DeliveredRate    float64  `json:"delivered_per_s"`
	Missing          uint64   `json:"missing"`
	Duplicates       uint64   `json:"duplicates"`
	Incomplete       int      `json:"subscribers_incomplete"` // subscribers that missed something
	Lost             int      `json:"subscribers_lost"`       // subscriptions that ended before the run did
	LatencyP50ms     float64  `json:"latency_p50_ms"`
	LatencyP99ms     float64  `json:"latency_p99_ms"`
	LatencyP999ms    float64  `json:"latency_p999_ms"`
	LatencyMaxms     float64  `json:"latency_max_ms"`
	PublishP99ms     float64  `json:"publish_p99_ms"`
	Requests         uint64   `json:"requests,omitempty"` // a pull mode's requests answered (jetstream: Gets and Deletes)
	Batches          uint64   `json:"batches,omitempty"`  // its answers that held events
	ServerKiBPerConn float64  `json:"server_kib_per_conn,omitempty"`
	ServerCPUSeconds float64  `json:"server_cpu_s,omitempty"` // from publishing's start to the last delivery
	ServerCPUus      float64  `json:"server_cpu_us_per_delivery,omitempty"`
	ToolCPUSeconds   float64  `json:"tool_cpu_s"`
	ToolCPUus        float64  `json:"tool_cpu_us_per_delivery"`
	ToolAllocs       float64  `json:"tool_allocs_per_delivery"` // the tool's heap allocations, publishers included
	FloorCPUus       float64  `json:"floor_cpu_us_per_write,omitempty"`
	ServerPerFloor   float64  `json:"server_per_floor,omitempty"` // ServerCPUus / FloorCPUus
	Warnings         []string `json:"warnings,omitempty"`
}

func (c *Config) defaults() {
	c.Mode = cmp.Or(c.Mode, ModeSSE)
	c.Topic = cmp.Or(c.Topic, DefaultTopic)
	if c.Publishers <= 0 {
		c.Publishers = DefaultPublishers
	}
	if c.Drain <= 0 {
		c.Drain = DefaultDrain
	}
	if c.PullEvery <= 0 {
		c.PullEvery = DefaultPullEvery
	}
}

// Run executes the load described by cfg: it prepares the mode, connects
// every subscriber (each must then see every event), publishes, waits for
// the deliveries, and tallies per subscriber.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg.defaults()
	runID := newRunID()
	m, host, err := newMode(&cfg, runID)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: %w", err)
	}
	defer m.close()
	raiseFileLimit()
	res := Result{Mode: cfg.Mode, Subscribers: cfg.Subscribers}
	var c counters
	c.setPhase("floor")
	stopProgress := progress(&cfg, &c)
	defer stopProgress()
	if cfg.Floor {
		// Shaped like the run: a round of writes per event, at its rate.
		f, err := MeasureFloor(ctx, FloorConfig{Conns: cfg.Subscribers, Size: floorSize(cfg.Payload),
			Duration: cfg.FloorDuration, Rate: cfg.Rate})
		if err != nil {
			return res, fmt.Errorf("loadgen: floor: %w", err)
		}
		res.FloorCPUus = f.PerWriteUS
	}
	c.setPhase("prepare")
	err = m.prepare(ctx, cfg.Subscribers, cfg.Publishers)
	if err == nil {
		err = run(ctx, &cfg, m, host, markerOf(runID), &c, &res)
	}
	if cfg.Cleanup {
		// Also after a failed prepare: some users or keys may exist.
		if cerr := m.cleanup(context.WithoutCancel(ctx)); cerr != nil {
			res.Warnings = append(res.Warnings, "cleanup: "+cerr.Error())
		}
	}
	if err != nil {
		return res, fmt.Errorf("loadgen: %s: %w", cfg.Mode, err)
	}
	return res, nil
}

// counters are the run's progress, shared by its goroutines.
type counters struct {
	start     time.Time
	phase     atomic.Pointer[string]
	connected atomic.Int64
	published atomic.Uint64 // events the server accepted
	delivered atomic.Uint64 // distinct events received, summed over subscribers
}

func (c *counters) setPhase(p string) { c.phase.Store(&p) }

func (c *counters) snapshot() Progress {
	return Progress{Phase: *c.phase.Load(), Elapsed: time.Since(c.start), Connected: int(c.connected.Load()),
		Published: c.published.Load(), Delivered: c.delivered.Load()}
}

// run connects, publishes, drains and tallies into res.
func run(ctx context.Context, cfg *Config, m mode, host string, marker []byte, c *counters, res *Result) error {
	c.setPhase("connect")
	start := time.Now()
	pub := newPublishers(cfg, m, marker, &c.published)
	defer pub.close()

	// Connect every subscriber first: each must then see every event.
	rss0, _ := serverRSS(cfg.ServerPID)
	recvs, err := connectAll(ctx, m, host, cfg.Subscribers, &c.connected)
	if err != nil {
		for _, r := range recvs {
			r.close()
		}
		return err
	}
	res.ConnectSeconds = time.Since(start).Seconds()
	if rss1, ok := serverRSS(cfg.ServerPID); ok && cfg.Subscribers > 0 {
		res.ServerKiBPerConn = float64(rss1-rss0) / float64(cfg.Subscribers)
	}

	accts := make([]*account, len(recvs))
	var (
		wg       sync.WaitGroup
		stopping atomic.Bool
		lostMu   sync.Mutex
		lostErr  error
	)
	for i, r := range recvs {
		accts[i] = newAccount(marker, &c.delivered)
		wg.Go(func() {
			err := r.run(accts[i])
			if stopping.Load() {
				return
			}
			lostMu.Lock()
			defer lostMu.Unlock()
			res.Lost++
			if lostErr == nil {
				lostErr = fmt.Errorf("subscriber %d: %w", i, err)
			}
		})
	}

	// Publish once the receivers' first requests are served (see settle).
	c.setPhase("settle")
	// Without a server pid its clock cannot be read, which settle ignores.
	cpus := []func() (time.Duration, bool){
		func() (time.Duration, bool) { return selfCPU(), true },
		func() (time.Duration, bool) { return serverCPU(cfg.ServerPID) },
	}
	waited, _ := settle(ctx, cpus, settleWindow, settleMax)
	res.SettleSeconds = waited.Seconds()

	cpu0, _ := serverCPU(cfg.ServerPID)
	tool0, mallocs0 := selfCPU(), mallocs()
	pubStart := time.Now()
	c.setPhase("publish")
	pctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	pubHist, pubErr := pub.run(pctx)
	cancel()
	published := c.published.Load()
	pubElapsed := time.Since(pubStart)

	// Let deliveries drain: every subscriber should reach every event.
	c.setPhase("drain")
	want := published * uint64(len(recvs))
	last, lastChange := c.delivered.Load(), time.Now()
	for last < want && time.Since(lastChange) < cfg.Drain && ctx.Err() == nil && pubErr == nil {
		time.Sleep(20 * time.Millisecond)
		if n := c.delivered.Load(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	elapsed := time.Since(pubStart)
	cpu1, okCPU := serverCPU(cfg.ServerPID)
	tool1, mallocs1 := selfCPU(), mallocs()
	stopping.Store(true)
	for _, r := range recvs {
		r.close()
	}
	wg.Wait()
	if pubErr != nil {
		return pubErr
	}
	if lostErr != nil {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d subscriptions ended early; first: %v", res.Lost, lostErr))
	}

	var lat Histogram
	for _, a := range accts {
		lat.Merge(&a.hist)
		res.Duplicates += a.dups
		res.Requests += a.requests
		res.Batches += a.batches
		if a.got < published {
			res.Missing += published - a.got
			res.Incomplete++
		}
	}
	res.Published = published
	res.PublishRate = float64(published) / pubElapsed.Seconds()
	if cfg.Rate > 0 && res.PublishRate < 0.9*cfg.Rate {
		res.Warnings = append(res.Warnings, fmt.Sprintf("published %.1f events/s, not the %.1f asked: each publisher waits for its answer (publish p99 %.0f ms)",
			res.PublishRate, cfg.Rate, ms(pubHist.Quantile(0.99))))
	}
	res.Delivered = c.delivered.Load()
	res.DeliveredRate = float64(res.Delivered) / elapsed.Seconds()
	res.LatencyP50ms = ms(lat.Quantile(0.50))
	res.LatencyP99ms = ms(lat.Quantile(0.99))
	res.LatencyP999ms = ms(lat.Quantile(0.999))
	res.LatencyMaxms = ms(lat.Max())
	res.PublishP99ms = ms(pubHist.Quantile(0.99))
	if okCPU {
		res.ServerCPUSeconds = (cpu1 - cpu0).Seconds()
	}
	res.ToolCPUSeconds = (tool1 - tool0).Seconds()
	if res.Delivered > 0 {
		if okCPU {
			res.ServerCPUus = (cpu1 - cpu0).Seconds() * 1e6 / float64(res.Delivered)
		}
		res.ToolCPUus = (tool1 - tool0).Seconds() * 1e6 / float64(res.Delivered)
		res.ToolAllocs = float64(mallocs1-mallocs0) / float64(res.Delivered)
	}
	if res.FloorCPUus > 0 && res.ServerCPUus > 0 {
		res.ServerPerFloor = res.ServerCPUus / res.FloorCPUus
	}
	return nil
}

// connectAll opens n subscriptions, a few at a time, from source addresses
// spread over the loopback network when host is a loopback address. On
// error it returns what it opened, for closing.
func connectAll(ctx context.Context, m mode, host string, n int, connected *atomic.Int64) ([]receiver, error) {
	recvs := make([]receiver, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		sem   = make(chan struct{}, connectConcurrency)
	)
	for i := range recvs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			r, err := m.subscribe(ctx, i, sourceAddr(host, i))
			if err != nil {
				once.Do(func() { first = fmt.Errorf("subscriber %d: %w", i, err) })
				cancel()
				return
			}
			recvs[i] = r
			connected.Add(1)
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		return slices.DeleteFunc(recvs, func(r receiver) bool { return r == nil }), first
	}
	return recvs, nil
}

// progress reports c to cfg.Progress about once a second until the
// returned stop is called.
func progress(cfg *Config, c *counters) (stop func()) {
	c.start = time.Now()
	if cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				cfg.Progress(c.snapshot())
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// floorSize is the size of one event on the wire, about: the payload and
// the event's envelope.
func floorSize(payload int) int { return payload + 100 }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
