package server

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-io/herald/internal/reqlog"
)

// middleware wraps the API in what every request passes through, in one
// handler and one allocation of state: the request's id and access-log
// line (accessLog.go), the body's deadline (bodytimeout.go) and the
// request metrics. A long-poll's every delivery is a request, so what this
// costs is paid per delivery.
func (s *Server) middleware(api http.Handler) http.Handler {
	return &root{s: s, api: api, counters: newRequestCounters(s.metrics.HTTPRequests)}
}

type root struct {
	s        *Server
	api      http.Handler
	counters *requestCounters
}

func (h *root) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := &request{s: h.s, statusRecorder: statusRecorder{ResponseWriter: w, status: http.StatusOK}}
	q.entry.Init(r.Method, r.URL.Path, r.RemoteAddr, time.Now(), q)
	q.id[0] = q.entry.ID
	w.Header()[reqlog.Header] = q.id[:] // the canonical form: Set would allocate the slice
	routed := r.WithContext(reqlog.With(r.Context(), &q.entry))
	q.routed = routed
	boundBody(w, routed, h.s.cfg.BodyTimeout)
	h.api.ServeHTTP(&q.statusRecorder, routed)
	h.counters.inc(routed.Pattern, q.status)
	if q.entry.Detached() {
		// The stream outlives the handler, and its line keeps q: not
		// net/http's response (and its buffer), which the hijack left.
		q.ResponseWriter = hijacked{}
		return
	}
	q.entry.Done(q.status, q.bytes)
}

// request is one request's state in the middleware.
type request struct {
	statusRecorder
	entry  reqlog.Entry
	s      *Server
	routed *http.Request // the request the mux routes: its path values
	id     [1]string     // the X-Request-Id header's value
}

// WriteEntry writes the request's access-log line (reqlog.Sink).
func (q *request) WriteEntry(e *reqlog.Entry, status int, bytes int64) {
	if !q.s.accessOn.Load() {
		return
	}
	path := e.Path
	if q.routed != nil {
		path = redactKey(e.Path, q.routed)
	}
	q.s.writeAccess(e, path, status, bytes)
}

// Detaching resolves the line's path while the routed request is at hand
// and lets the request go (reqlog.Detacher): a stream or a parked poll
// keeps q for its whole life.
func (q *request) Detaching(e *reqlog.Entry) {
	e.Path = redactKey(e.Path, q.routed)
	q.routed = nil
}

// statusRecorder remembers the status code and counts the body's bytes;
// Unwrap keeps Flush, Hijack and deadlines reachable through
// http.ResponseController.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// hijacked stands for net/http's response once its connection was taken
// over, as that response answers then.
type hijacked struct{}

func (hijacked) Header() http.Header       { return http.Header{} }
func (hijacked) Write([]byte) (int, error) { return 0, http.ErrHijacked }
func (hijacked) WriteHeader(int)           {}

// requestCounters counts requests by route pattern and status
// (herald_http_requests_total) through counters looked up once per pair:
// WithLabelValues formats the status and hashes both labels on every call.
// The pairs are few (the mux's patterns, "unmatched", the statuses they
// answer), so the map is copied on the rare new pair and read without a
// lock.
type requestCounters struct {
	vec *prometheus.CounterVec
	m   atomic.Pointer[map[routeStatus]prometheus.Counter]
	mu  sync.Mutex // serialises copies
}

type routeStatus struct {
	route  string
	status int
}

func newRequestCounters(vec *prometheus.CounterVec) *requestCounters {
	c := &requestCounters{vec: vec}
	c.m.Store(&map[routeStatus]prometheus.Counter{})
	return c
}

func (c *requestCounters) inc(route string, status int) {
	if route == "" {
		route = "unmatched"
	}
	k := routeStatus{route, status}
	if ctr, ok := (*c.m.Load())[k]; ok {
		ctr.Inc()
		return
	}
	c.mu.Lock()
	old := *c.m.Load()
	ctr, ok := old[k]
	if !ok {
		ctr = c.vec.WithLabelValues(route, strconv.Itoa(status))
		m := make(map[routeStatus]prometheus.Counter, len(old)+1)
		for k, v := range old {
			m[k] = v
		}
		m[k] = ctr
		c.m.Store(&m)
	}
	c.mu.Unlock()
	ctr.Inc()
}
