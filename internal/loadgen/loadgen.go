// Package loadgen is herald's load tool (`herald bench`): it opens many
// streaming subscribers, publishes events that carry their send time, and
// reports delivery latency, completeness and the server's cost. It is lean
// on purpose — it shares the machine with the server it measures — so it
// scans bytes in place and allocates nothing per event.
package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config describes one run.
type Config struct {
	URL         string        // herald base URL
	Key         string        // key that may publish and read Topic
	Subscribers int           // SSE subscribers
	Publishers  int           // concurrent publishers
	Rate        float64       // events/s in total; 0 publishes as fast as possible
	Duration    time.Duration // publishing time
	Topic       string        // topic published to and subscribed
	Payload     int           // extra payload bytes per event
	ServerPID   int           // measure this process's CPU and RSS (0: don't)
	Progress    func(Progress)
}

// Progress is reported about once a second.
type Progress struct {
	Elapsed   time.Duration
	Connected int
	Published uint64
	Delivered uint64
}

// Result is what a run measured.
type Result struct {
	Subscribers      int     `json:"subscribers"`
	ConnectSeconds   float64 `json:"connect_s"`
	Published        uint64  `json:"published"`
	PublishRate      float64 `json:"published_per_s"`
	Delivered        uint64  `json:"delivered"`
	DeliveredRate    float64 `json:"delivered_per_s"`
	Missing          uint64  `json:"missing"`
	Duplicates       uint64  `json:"duplicates"`
	LatencyP50ms     float64 `json:"latency_p50_ms"`
	LatencyP99ms     float64 `json:"latency_p99_ms"`
	LatencyP999ms    float64 `json:"latency_p999_ms"`
	LatencyMaxms     float64 `json:"latency_max_ms"`
	PublishP99ms     float64 `json:"publish_p99_ms"`
	ServerKiBPerConn float64 `json:"server_kib_per_conn,omitempty"`
	ServerCPUus      float64 `json:"server_cpu_us_per_delivery,omitempty"`
	ToolCPUus        float64 `json:"tool_cpu_us_per_delivery"`
}

// Run executes the load described by cfg.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Topic == "" {
		cfg.Topic = "bench.load"
	}
	if cfg.Publishers <= 0 {
		cfg.Publishers = 4
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: url: %w", err)
	}
	raiseFileLimit()
	res := Result{Subscribers: cfg.Subscribers}
	rss0, _ := serverRSS(cfg.ServerPID)

	// Connect every subscriber first: each must then see every event.
	start := time.Now()
	subs := make([]*subscriber, cfg.Subscribers)
	var connected atomic.Int64
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range subs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := dialSubscriber(ctx, u, sourceAddr(u.Hostname(), i), cfg.Key, cfg.Topic)
			if err != nil {
				select {
				case errc <- fmt.Errorf("subscriber %d: %w", i, err):
				default:
				}
				return
			}
			subs[i] = s
			connected.Add(1)
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		for _, s := range subs {
			if s != nil {
				s.conn.Close()
			}
		}
		return res, err
	default:
	}
	res.ConnectSeconds = time.Since(start).Seconds()
	if rss1, ok := serverRSS(cfg.ServerPID); ok && cfg.Subscribers > 0 {
		res.ServerKiBPerConn = float64(rss1-rss0) / float64(cfg.Subscribers)
	}
	var delivered atomic.Uint64
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.run(&delivered)
		}()
	}

	cpu0, _ := serverCPU(cfg.ServerPID)
	tool0 := selfCPU()
	pubStart := time.Now()
	pub := newPublishers(cfg, u)
	pctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				if cfg.Progress != nil {
					cfg.Progress(Progress{time.Since(pubStart), int(connected.Load()), pub.count.Load(), delivered.Load()})
				}
			}
		}
	}()
	pubHist, err := pub.run(pctx)
	cancel()
	published := pub.count.Load()
	pubElapsed := time.Since(pubStart)

	// Let deliveries drain: every subscriber should reach every event.
	want := published * uint64(len(subs))
	deadline := time.Now().Add(30 * time.Second)
	for delivered.Load() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(pubStart)
	cpu1, okCPU := serverCPU(cfg.ServerPID)
	tool1 := selfCPU()
	close(stopProgress)
	for _, s := range subs {
		s.conn.Close()
	}
	wg.Wait()
	if err != nil {
		return res, err
	}

	var lat Histogram
	for _, s := range subs {
		lat.Merge(&s.hist)
		res.Duplicates += s.dups
		if s.got < published {
			res.Missing += published - s.got
		}
	}
	res.Published = published
	res.PublishRate = float64(published) / pubElapsed.Seconds()
	res.Delivered = delivered.Load()
	res.DeliveredRate = float64(res.Delivered) / elapsed.Seconds()
	res.LatencyP50ms = ms(lat.Quantile(0.50))
	res.LatencyP99ms = ms(lat.Quantile(0.99))
	res.LatencyP999ms = ms(lat.Quantile(0.999))
	res.LatencyMaxms = ms(lat.Max())
	res.PublishP99ms = ms(pubHist.Quantile(0.99))
	if res.Delivered > 0 {
		if okCPU {
			res.ServerCPUus = (cpu1 - cpu0).Seconds() * 1e6 / float64(res.Delivered)
		}
		res.ToolCPUus = (tool1 - tool0).Seconds() * 1e6 / float64(res.Delivered)
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// sourceAddr spreads loopback connections over 127.0.0.1–127.0.0.254 so
// that many subscribers do not exhaust one address's ephemeral ports.
func sourceAddr(host string, i int) net.Addr {
	ip := net.ParseIP(host)
	if host == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
		return nil
	}
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%254))}
}

func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
