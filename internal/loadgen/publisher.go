package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// maxPublishTries bounds how often one event is offered to a server that
// answers "later" (429, 503).
const maxPublishTries = 20

// publishers send the run's events: K concurrent publishers on a fixed
// schedule or as fast as they are answered, each event carrying its send
// time and a sequence number unique in the run.
type publishers struct {
	cfg    *Config
	tmpls  []pubTemplate
	marker []byte
	client *http.Client
	seq    atomic.Uint64  // the last sequence number handed out
	count  *atomic.Uint64 // events the server accepted
}

func newPublishers(cfg *Config, m mode, marker []byte, count *atomic.Uint64) *publishers {
	p := &publishers{
		cfg: cfg, marker: marker, count: count,
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Publishers, DisableCompression: true},
			Timeout:   30 * time.Second,
		},
	}
	for k := range cfg.Publishers {
		p.tmpls = append(p.tmpls, m.publisher(k))
	}
	return p
}

// run publishes until ctx ends or cfg.Events are sent, and returns the
// publish-call latencies. The first failure stops every publisher.
func (p *publishers) run(ctx context.Context) (*Histogram, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	hists := make([]Histogram, p.cfg.Publishers)
	var interval time.Duration
	if p.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(p.cfg.Publishers) / p.cfg.Rate)
	}
	for i := range p.cfg.Publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := time.Now().Add(time.Duration(i) * interval / time.Duration(p.cfg.Publishers))
			for ctx.Err() == nil {
				if interval > 0 {
					// A fixed schedule: a slow publish does not lower the rate
					// of the ones after it.
					if d := time.Until(next); d > 0 {
						t := time.NewTimer(d)
						select {
						case <-t.C:
						case <-ctx.Done():
							t.Stop()
							return
						}
					}
					next = next.Add(interval)
				}
				seq := p.seq.Add(1)
				if p.cfg.Events > 0 && seq > uint64(p.cfg.Events) {
					return
				}
				if err := p.publish(ctx, &p.tmpls[i], seq, &hists[i]); err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
				p.count.Add(1)
			}
		}()
	}
	wg.Wait()
	var h Histogram
	for i := range hists {
		h.Merge(&hists[i])
	}
	return &h, first
}

// publish sends event seq until it is accepted. A request already sent is
// completed even when ctx ends, so that what the server accepted is counted.
func (p *publishers) publish(ctx context.Context, t *pubTemplate, seq uint64, h *Histogram) error {
	sent := time.Now()
	body := make([]byte, 0, len(t.pre)+len(p.marker)+42+p.cfg.Payload+len(t.post))
	body = append(body, t.pre...)
	body = appendPayload(body, p.marker, sent.UnixNano(), seq, p.cfg.Payload)
	body = append(body, t.post...)
	for try := 1; ; try++ {
		req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), t.method, t.url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		req.Header = t.header.Clone()
		resp, err := p.client.Do(req)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		var msg []byte
		if resp.StatusCode/100 != 2 {
			msg, _ = io.ReadAll(io.LimitReader(resp.Body, 1024))
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch code := resp.StatusCode; {
		case code/100 == 2:
			h.Add(time.Since(sent))
			return nil
		case (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) && try < maxPublishTries:
			wait := 50 * time.Millisecond
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			time.Sleep(wait)
		default:
			return &statusError{method: t.method, path: req.URL.Path, status: code, body: msg}
		}
	}
}

func (p *publishers) close() { p.client.CloseIdleConnections() }
