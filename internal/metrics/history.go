package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Sample is one point of a node's recent history: the counters as rates
// over the interval that ended at T, the gauges as they were at T.
type Sample struct {
	T int64 `json:"t"` // unix milliseconds
	// Appended is events appended to the log per second (every dialect).
	Appended float64 `json:"appended"`
	// Delivered is events written to clients per second, by transport.
	Delivered map[string]float64 `json:"delivered"`
	// Subscribers is the open streaming connections, by transport (those
	// with none left out).
	Subscribers map[string]float64 `json:"subscribers"`
	// TailLag is herald_tail_lag_events: how far this node's tail was
	// behind the log at its last heartbeat.
	TailLag float64 `json:"tail_lag"`
	// SubscriptionLag is the most events any durable subscription had
	// pending when last observed (herald_subscription_pending_events).
	SubscriptionLag float64 `json:"subscription_lag"`
	// WebhookLag is the most events any webhook endpoint run by this node
	// was behind the log (herald_webhook_lag_events).
	WebhookLag float64 `json:"webhook_lag"`
	// PublishP99 is the 99th percentile of the appends of the interval,
	// in milliseconds, interpolated in its histogram bucket as Prometheus'
	// histogram_quantile does; nil when there were none.
	PublishP99 *float64 `json:"publish_p99_ms"`
	// StreamsCut and Faults are streams cut and faults injected per second;
	// FaultRules the fault rules in effect.
	StreamsCut float64 `json:"streams_cut"`
	Faults     float64 `json:"faults"`
	FaultRules float64 `json:"fault_rules"`
}

// Time returns T as a time.
func (s *Sample) Time() time.Time { return time.UnixMilli(s.T).UTC() }

// HistoryConfig configures a History.
type HistoryConfig struct {
	Every time.Duration    // between samples (default 2 s)
	Keep  time.Duration    // how far back samples are kept (default 15 min)
	Now   func() time.Time // default time.Now
}

// History keeps the last few minutes of a node's metrics in memory, so that
// a chart opened (or reloaded) shows them at once instead of starting
// empty. Its samples are taken by Run (or Sample) and read by Samples;
// a mutex guards the ring and the previous counters.
type History struct {
	m   *Metrics
	cfg HistoryConfig

	mu   sync.Mutex
	ring []Sample // len ≤ cap; next is the oldest once full
	next int
	prev counters
	at   time.Time // when prev was read
}

// counters are the cumulative values rates are computed from.
type counters struct {
	appended, cut, faults float64
	delivered             map[string]float64
	buckets               []float64 // cumulative counts per upper bound
	bounds                []float64
	count                 float64
}

// NewHistory returns an empty history of m; the first sample's rates are
// over the time since this call.
func NewHistory(m *Metrics, cfg HistoryConfig) *History {
	if cfg.Every <= 0 {
		cfg.Every = 2 * time.Second
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 15 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := max(int(cfg.Keep/cfg.Every), 1)
	h := &History{m: m, cfg: cfg, ring: make([]Sample, 0, n)}
	h.prev, h.at = h.read(), cfg.Now()
	return h
}

// Every returns the interval between samples.
func (h *History) Every() time.Duration { return h.cfg.Every }

// Keep returns how far back samples are kept.
func (h *History) Keep() time.Duration { return h.cfg.Keep }

// Run takes a sample every Every until ctx ends.
func (h *History) Run(ctx context.Context) {
	t := time.NewTicker(h.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.Sample()
		}
	}
}

// Sample takes one sample now.
func (h *History) Sample() {
	now := h.cfg.Now()
	cur := h.read()
	s := Sample{
		T:               now.UnixMilli(),
		Delivered:       map[string]float64{},
		Subscribers:     map[string]float64{},
		TailLag:         gaugeValue(h.m.TailLag),
		SubscriptionLag: maxGauge(h.m.SubscriptionLag),
		WebhookLag:      maxGauge(h.m.WebhookLag),
		FaultRules:      gaugeValue(h.m.FaultRules),
	}
	for t, n := range h.m.LiveSubscribers() {
		s.Subscribers[t] = float64(n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	secs := now.Sub(h.at).Seconds()
	if secs > 0 {
		rate := func(cur, prev float64) float64 { return max(cur-prev, 0) / secs }
		s.Appended = rate(cur.appended, h.prev.appended)
		s.StreamsCut = rate(cur.cut, h.prev.cut)
		s.Faults = rate(cur.faults, h.prev.faults)
		for t, n := range cur.delivered {
			s.Delivered[t] = rate(n, h.prev.delivered[t])
		}
		s.PublishP99 = quantile(0.99, cur, h.prev)
	}
	h.prev, h.at = cur, now
	if len(h.ring) < cap(h.ring) {
		h.ring = append(h.ring, s)
		return
	}
	h.ring[h.next] = s
	h.next = (h.next + 1) % len(h.ring)
}

// Samples returns the samples taken after since, oldest first.
func (h *History) Samples(since time.Time) []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Sample, 0, len(h.ring))
	for i := range len(h.ring) {
		s := h.ring[(h.next+i)%len(h.ring)]
		if since.IsZero() || s.T > since.UnixMilli() {
			out = append(out, s)
		}
	}
	return out
}

// read takes the cumulative counters.
func (h *History) read() counters {
	c := counters{delivered: map[string]float64{}}
	for _, d := range collect(h.m.EventsAppended) {
		c.appended += d.GetCounter().GetValue()
	}
	for _, d := range collect(h.m.StreamsCut) {
		c.cut += d.GetCounter().GetValue()
	}
	for _, d := range collect(h.m.FaultsInjected) {
		c.faults += d.GetCounter().GetValue()
	}
	for _, d := range collect(h.m.EventsDelivered) {
		c.delivered[label(d, "transport")] += d.GetCounter().GetValue()
	}
	for _, d := range collect(h.m.AppendSeconds) {
		hist := d.GetHistogram()
		c.count = float64(hist.GetSampleCount())
		for _, b := range hist.GetBucket() {
			c.bounds = append(c.bounds, b.GetUpperBound())
			c.buckets = append(c.buckets, float64(b.GetCumulativeCount()))
		}
	}
	return c
}

// quantile is the q-quantile in milliseconds of the observations between
// prev and cur, or nil if there were none.
func quantile(q float64, cur, prev counters) *float64 {
	total := cur.count - prev.count
	if total <= 0 || len(cur.buckets) != len(prev.buckets) {
		return nil
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, bound := range cur.bounds {
		n := cur.buckets[i] - prev.buckets[i]
		if n >= rank {
			v := lower + (bound-lower)*(rank-below)/(n-below)
			v *= 1000
			return &v
		}
		lower, below = bound, n
	}
	// In the +Inf bucket: the highest finite bound is all that is known.
	v := lower * 1000
	return &v
}

// collect returns the metrics a collector currently has.
func collect(c prometheus.Collector) []*dto.Metric {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var out []*dto.Metric
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) == nil {
			out = append(out, &d)
		}
	}
	return out
}

func label(d *dto.Metric, name string) string {
	for _, l := range d.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func gaugeValue(g prometheus.Gauge) float64 {
	for _, d := range collect(g) {
		return d.GetGauge().GetValue()
	}
	return 0
}

func maxGauge(g *prometheus.GaugeVec) float64 {
	v := 0.0
	for _, d := range collect(g) {
		v = max(v, d.GetGauge().GetValue())
	}
	return v
}
