// Package metrics defines herald's Prometheus metrics on a registry of their
// own (no global state), shared by the server and every dialect.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds the collectors herald updates.
type Metrics struct {
	Registry *prometheus.Registry

	// EventsAppended counts events appended to the log, by dialect.
	EventsAppended *prometheus.CounterVec
	// AppendSeconds observes how long an append took until durable.
	AppendSeconds prometheus.Histogram
	// EventsDelivered counts events written to clients, by transport.
	EventsDelivered *prometheus.CounterVec
	// Subscribers is the number of live streaming connections, by transport.
	Subscribers *prometheus.GaugeVec
	// SubscriptionLag is how many events a durable subscription has pending,
	// as last observed when it was fetched or listed.
	SubscriptionLag *prometheus.GaugeVec
	// StreamsCut counts streams herald ended because a write failed: reason
	// "write_timeout" (a client that accepted nothing for --write-timeout)
	// or "write_error" (the client went away).
	StreamsCut *prometheus.CounterVec
	// HTTPRequests counts requests by route pattern and status code.
	HTTPRequests *prometheus.CounterVec
}

// New creates the collectors on a fresh registry, with Go and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		EventsAppended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_events_appended_total",
			Help: "Events appended to the log.",
		}, []string{"dialect"}),
		AppendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "herald_append_duration_seconds",
			Help:    "Time from receiving an append to its durable acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		EventsDelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_events_delivered_total",
			Help: "Events written to clients.",
		}, []string{"transport"}),
		Subscribers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_live_subscribers",
			Help: "Open streaming connections.",
		}, []string{"transport"}),
		SubscriptionLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_subscription_pending_events",
			Help: "Events pending for a durable subscription when last observed.",
		}, []string{"subscription"}),
		StreamsCut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_streams_cut_total",
			Help: "Streams ended by herald because a write failed, by transport and reason.",
		}, []string{"transport", "reason"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
	}
	m.Registry.MustRegister(
		m.EventsAppended, m.AppendSeconds, m.EventsDelivered, m.Subscribers,
		m.SubscriptionLag, m.StreamsCut, m.HTTPRequests,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}
