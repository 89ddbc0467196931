package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/eventlog"
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
	mux.HandleFunc("GET /v1/cluster", func(w http.ResponseWriter, r *http.Request) {
		k, err := s.auth.Authenticate(r.Context(), auth.BearerToken(r))
		if err != nil || !k.Admin {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"code":"unauthorized","message":"an admin key is required"}}` + "\n"))
			return
		}
		info, err := s.eventLog.Cluster(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":{"code":"unavailable","message":` + strconv.Quote(err.Error()) + "}}\n"))
			return
		}
		b, _ := json.Marshal(struct {
			Stream eventlog.ClusterInfo `json:"stream"`
		}{info})
		w.Write(append(b, '\n'))
	})
	metricsHandler := promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{})
	mux.Handle("GET /metrics", s.adminOnly(metricsHandler))
	// Profiles for operators (and the performance work): admin key only.
	mux.Handle("GET /debug/pprof/", s.adminOnly(http.HandlerFunc(pprof.Index)))
	mux.Handle("GET /debug/pprof/profile", s.adminOnly(http.HandlerFunc(pprof.Profile)))
	mux.Handle("GET /debug/pprof/trace", s.adminOnly(http.HandlerFunc(pprof.Trace)))
}

// adminOnly lets requests with an admin Bearer key through.
func (s *Server) adminOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := s.auth.Authenticate(r.Context(), auth.BearerToken(r))
		if err != nil || !k.Admin {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
			http.Error(w, "an admin key is required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// instrument counts requests by route pattern and status.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.metrics.HTTPRequests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
	})
}

// statusRecorder remembers the status code; Unwrap keeps Flush, Hijack and
// deadlines reachable through http.ResponseController.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
