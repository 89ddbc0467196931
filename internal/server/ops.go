package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/metrics"
	"github.com/herald-io/herald/internal/openapi"
)

// mountOps registers health, readiness and metrics. Health and readiness
// are open (load balancers probe them); metrics need an admin key.
func (s *Server) mountOps(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := s.eventLog.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"unavailable","error":` + strconv.Quote(err.Error()) + "}\n"))
			return
		}
		w.Write([]byte(`{"status":"ready"}` + "\n"))
	})
	// Operator endpoints: an admin key, through the same guard as every
	// dialect's admin endpoints.
	ag := s.core.AdminGuard(1 << 10)
	admin := func(h http.Handler) http.Handler {
		return ag.Handle(func(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
			h.ServeHTTP(w, r)
			return nil
		})
	}
	mux.Handle("GET /v1/cluster", ag.Handle(s.cluster))
	mux.Handle("GET /v1/backup", ag.Handle(s.backupArchive)) // backup.go
	mux.Handle("GET /v1/stats/history", ag.Handle(s.statsHistory))
	mux.Handle("GET /v1/openapi.json", openapi.Handler()) // open, like /healthz: documentation, not data
	mux.Handle("GET /metrics", admin(promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})))
	// Profiles for operators (and the performance work).
	mux.Handle("GET /debug/pprof/", admin(http.HandlerFunc(pprof.Index)))
	mux.Handle("GET /debug/pprof/profile", admin(http.HandlerFunc(pprof.Profile)))
	mux.Handle("GET /debug/pprof/trace", admin(http.HandlerFunc(pprof.Trace)))
	// Other methods: herald's JSON 405, not net/http's text.
	s.core.Guard(dialect.GuardSpec{}).MethodNotAllowed(mux, map[string]string{
		"/healthz": "GET", "/readyz": "GET", "/v1/cluster": "GET", "/v1/backup": "GET", "/v1/stats/history": "GET", "/metrics": "GET", "/v1/openapi.json": "GET",
		"/debug/pprof/": "GET", // and every path below it
	})
}

// cluster answers GET /v1/cluster: where the log's stream lives, and the
// herald nodes serving it with how far each is behind.
func (s *Server) cluster(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	info, err := s.eventLog.Cluster(r.Context())
	var nodes []clusterNode
	if err == nil {
		nodes, err = s.nodes.list(r.Context())
	}
	if err != nil {
		return &dialect.Problem{Kind: dialect.Unavailable, RetryAfter: time.Second,
			Message: "the cluster's state is unavailable; retry shortly", Err: err}
	}
	b, _ := json.Marshal(struct {
		Stream eventlog.ClusterInfo `json:"stream"`
		Node   string               `json:"node"` // the answering node's id
		Nodes  []clusterNode        `json:"nodes"`
	}{info, s.nodeID, nodes})
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
	return nil
}

// statsHistory answers GET /v1/stats/history[?since=<unix ms>]: this
// node's samples of the last 15 minutes (those after since), so that the
// console's charts are full as soon as they open. The node computes them
// from its own collectors; a browser parsing /metrics could only start
// from its first scrape, and could not keep a history across a reload.
func (s *Server) statsHistory(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return dialect.Errorf(dialect.BadRequest, "since must be a time in unix milliseconds (a sample's t)")
		}
		since = time.UnixMilli(ms)
	}
	b, _ := json.Marshal(struct {
		Node    string           `json:"node"`
		EveryMS int64            `json:"every_ms"`
		KeepMS  int64            `json:"keep_ms"`
		Samples []metrics.Sample `json:"samples"`
	}{s.nodeID, s.history.Every().Milliseconds(), s.history.Keep().Milliseconds(), s.history.Samples(since)})
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
	return nil
}
