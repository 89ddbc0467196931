package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type publishers struct {
	cfg    Config
	target string
	client *http.Client
	count  atomic.Uint64
}

func newPublishers(cfg Config, u *url.URL) *publishers {
	return &publishers{
		cfg:    cfg,
		target: strings.TrimSuffix(u.String(), "/") + "/v1/events",
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Publishers}, Timeout: 30 * time.Second},
	}
}

// run publishes until ctx ends and returns the publish-call latencies.
func (p *publishers) run(ctx context.Context) (*Histogram, error) {
	var wg sync.WaitGroup
	hists := make([]Histogram, p.cfg.Publishers)
	errs := make(chan error, p.cfg.Publishers)
	var interval time.Duration
	if p.cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(p.cfg.Publishers) / p.cfg.Rate)
	}
	pad := strings.Repeat("x", p.cfg.Payload)
	for i := 0; i < p.cfg.Publishers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body bytes.Buffer
			next := time.Now().Add(time.Duration(i) * interval / time.Duration(p.cfg.Publishers))
			for ctx.Err() == nil {
				if interval > 0 {
					// A fixed schedule: a slow publish does not lower the rate
					// of the ones after it.
					if d := time.Until(next); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
					next = next.Add(interval)
				}
				body.Reset()
				fmt.Fprintf(&body, `{"topic":%q,"type":"bench","data":{"t":%s,"p":%q}}`, p.cfg.Topic, strconv.FormatInt(time.Now().UnixNano(), 10), pad)
				start := time.Now()
				req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), "POST", p.target, bytes.NewReader(body.Bytes()))
				req.Header.Set("Authorization", "Bearer "+p.cfg.Key)
				resp, err := p.client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errs <- fmt.Errorf("publish answered %s", resp.Status)
					return
				}
				hists[i].Add(time.Since(start))
				p.count.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	var h Histogram
	for i := range hists {
		h.Merge(&hists[i])
	}
	return &h, <-errs
}
