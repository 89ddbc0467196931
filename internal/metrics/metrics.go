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
	// Subscribers is the number of live streaming connections and parked
	// long-polls, by transport.
	Subscribers *prometheus.GaugeVec
	// SubscriptionLag is how many events a durable subscription has pending,
	// as last observed when it was fetched or listed.
	SubscriptionLag *prometheus.GaugeVec
	// StreamsCut counts streams herald ended because a write failed: reason
	// "write_timeout" (a client that accepted nothing for --write-timeout)
	// or "write_error" (the client went away); or because a fault rule cut
	// it: "fault".
	StreamsCut *prometheus.CounterVec
	// HTTPRequests counts requests by route pattern and status code.
	HTTPRequests *prometheus.CounterVec
	// RequestsQueued is how many connections the delivery engine serves
	// have a request waiting for a turn at its gate (internal/deliver's
	// gate: a bounded number are served at once, and a fan-out worker
	// holds them back while it answers parked polls); RequestsQueuedTotal
	// counts the requests that waited there.
	RequestsQueued      prometheus.Gauge
	RequestsQueuedTotal prometheus.Counter
	// BuildInfo is 1, labelled with the build's version, revision (with
	// "+dirty") and Go version, as Prometheus exporters show theirs.
	BuildInfo *prometheus.GaugeVec
	// FaultsInjected counts faults injected by rules (internal/faults), by
	// dialect and action; FaultRules is how many rules are in effect.
	FaultsInjected *prometheus.CounterVec
	FaultRules     prometheus.Gauge
	// WebhookDeliveries counts requests to webhook endpoints, by endpoint
	// and outcome: "delivered" (2xx), "refused" (another status), "error"
	// (no answer: refused connection, timeout, address policy).
	WebhookDeliveries *prometheus.CounterVec
	// WebhookSeconds observes how long an endpoint took to answer.
	WebhookSeconds *prometheus.HistogramVec
	// WebhookLag is how far an endpoint's position is behind the log's
	// end on the node delivering it, in events (matching or not).
	WebhookLag *prometheus.GaugeVec
	// HookRequests counts requests to inbound hooks, by hook and outcome:
	// "stored", "duplicate", "unsigned" (bad or no signature), "rejected"
	// (rate limit, body), "error".
	HookRequests *prometheus.CounterVec

	// The cluster as this node saw it at its last heartbeat (see
	// internal/server's node registry).

	// ClusterNodes counts the herald nodes registered on the engine, by
	// state: "fresh" (heartbeating) or "stale" (missed several heartbeats).
	ClusterNodes *prometheus.GaugeVec
	// TailLag is how many events this node's tail was behind the log.
	TailLag prometheus.Gauge
	// StreamReplicas is how many servers hold the log's stream (leader
	// included); StreamReplicasCurrent how many of them are in sync.
	StreamReplicas        prometheus.Gauge
	StreamReplicasCurrent prometheus.Gauge
	// StreamHasLeader is 1 when the log's stream has a leader (appends can
	// be acknowledged), 0 when it has none or the engine is unreachable.
	StreamHasLeader prometheus.Gauge

	// RouteActions counts what routes did with the events of their topics,
	// by route and outcome: "done" (the action was carried out), "skipped"
	// (the condition was false), "failed" (an attempt failed; it is tried
	// again, never skipped).
	RouteActions *prometheus.CounterVec
	// RoutePosition is the last source sequence each route has handled.
	RoutePosition *prometheus.GaugeVec
	// Connectors (internal/connector), by connector name and kind, as the
	// node that runs each reports it: whether it is connected to its
	// upstream, the events it ingested and the newest one's upstream time
	// (Unix seconds), its upstream errors and its reconnects.
	ConnectorConnected  *prometheus.GaugeVec
	ConnectorEvents     *prometheus.CounterVec
	ConnectorLastEvent  *prometheus.GaugeVec
	ConnectorErrors     *prometheus.CounterVec
	ConnectorReconnects *prometheus.CounterVec
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
			Help: "Open streaming connections, and long-polls parked waiting for events.",
		}, []string{"transport"}),
		SubscriptionLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_subscription_pending_events",
			Help: "Events pending for a durable subscription when last observed.",
		}, []string{"subscription"}),
		StreamsCut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_streams_cut_total",
			Help: "Streams ended by herald because a write failed or a fault rule cut them, by transport and reason.",
		}, []string{"transport", "reason"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		RequestsQueued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_requests_queued",
			Help: "Requests on connections the delivery engine serves that wait for a turn at its gate.",
		}),
		RequestsQueuedTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "herald_requests_queued_total",
			Help: "Requests on connections the delivery engine serves that waited for a turn at its gate.",
		}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_build_info",
			Help: "1, labelled with the build: module version, VCS revision (+dirty), Go version.",
		}, []string{"version", "revision", "go"}),
		FaultsInjected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_faults_injected_total",
			Help: "Faults injected by fault rules, by dialect and action.",
		}, []string{"dialect", "action"}),
		FaultRules: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_fault_rules_active",
			Help: "Fault rules in effect on this node.",
		}),
		WebhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_webhook_deliveries_total",
			Help: "Requests to webhook endpoints, by endpoint and outcome (delivered, refused, error).",
		}, []string{"endpoint", "outcome"}),
		WebhookSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "herald_webhook_delivery_duration_seconds",
			Help:    "Time from sending a webhook request to its answer.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"endpoint"}),
		WebhookLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_webhook_lag_events",
			Help: "How far a webhook endpoint's position is behind the log's end, on the node delivering it.",
		}, []string{"endpoint"}),
		HookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_hook_requests_total",
			Help: "Requests to inbound hooks, by hook and outcome (stored, duplicate, unsigned, rejected, error).",
		}, []string{"hook", "outcome"}),
		ClusterNodes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_cluster_nodes",
			Help: "herald nodes registered on the engine, by state (fresh, stale), at this node's last heartbeat.",
		}, []string{"state"}),
		TailLag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_tail_lag_events",
			Help: "Events appended to the log that this node's tail had not yet delivered, at its last heartbeat.",
		}),
		StreamReplicas: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_stream_replicas",
			Help: "Servers holding the log's stream, leader included.",
		}),
		StreamReplicasCurrent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_stream_replicas_current",
			Help: "Servers holding the log's stream that are in sync with its leader, leader included.",
		}),
		StreamHasLeader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "herald_stream_has_leader",
			Help: "1 if the log's stream has a leader, 0 if it has none or the engine is unreachable.",
		}),
		RouteActions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_route_events_total",
			Help: "Source events handled by routes running on this node, by route and outcome (done, skipped, failed attempts).",
		}, []string{"route", "outcome"}),
		RoutePosition: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_route_position",
			Help: "The last source sequence a route running on this node has handled.",
		}, []string{"route"}),
		ConnectorConnected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_connector_connected",
			Help: "1 while a connector run by this node is connected to its upstream, else 0.",
		}, []string{"connector", "kind"}),
		ConnectorEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_connector_events_ingested_total",
			Help: "Upstream events a connector run by this node appended to the log (duplicates not counted).",
		}, []string{"connector", "kind"}),
		ConnectorLastEvent: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "herald_connector_last_event_timestamp_seconds",
			Help: "Upstream time of the newest event a connector run by this node ingested.",
		}, []string{"connector", "kind"}),
		ConnectorErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_connector_errors_total",
			Help: "Upstream faults a connector run by this node met (unreachable, refused, cut).",
		}, []string{"connector", "kind"}),
		ConnectorReconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_connector_reconnects_total",
			Help: "Attempts of a connector run by this node to reach its upstream again after a fault.",
		}, []string{"connector", "kind"}),
	}
	m.Registry.MustRegister(
		m.EventsAppended, m.AppendSeconds, m.EventsDelivered, m.Subscribers,
		m.SubscriptionLag, m.StreamsCut, m.HTTPRequests, m.RequestsQueued, m.RequestsQueuedTotal, m.BuildInfo, m.FaultsInjected, m.FaultRules,
		m.WebhookDeliveries, m.WebhookSeconds, m.WebhookLag, m.HookRequests,
		m.ClusterNodes, m.TailLag, m.StreamReplicas, m.StreamReplicasCurrent, m.StreamHasLeader,
		m.RouteActions, m.RoutePosition,
		m.ConnectorConnected, m.ConnectorEvents, m.ConnectorLastEvent, m.ConnectorErrors, m.ConnectorReconnects,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// ConnectorVecs are the connector collectors, whose series a node drops
// when it stops running a connector.
func (m *Metrics) ConnectorVecs() []*prometheus.MetricVec {
	return []*prometheus.MetricVec{m.ConnectorConnected.MetricVec, m.ConnectorEvents.MetricVec,
		m.ConnectorLastEvent.MetricVec, m.ConnectorErrors.MetricVec, m.ConnectorReconnects.MetricVec}
}

// LiveSubscribers returns the open streaming connections by transport (the
// Subscribers gauge's current values), leaving out transports with none.
func (m *Metrics) LiveSubscribers() map[string]int64 {
	out := map[string]int64{}
	for _, d := range collect(m.Subscribers) {
		if n := int64(d.GetGauge().GetValue()); n > 0 {
			out[label(d, "transport")] = n
		}
	}
	return out
}
