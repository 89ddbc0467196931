package server

import (
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/herald-io/herald/internal/metrics"
)

// The cached counters count what WithLabelValues would, from goroutines
// at once, new pairs included; a request no pattern served is "unmatched".
func TestRequestCounters(t *testing.T) {
	m := metrics.New()
	c := newRequestCounters(m.HTTPRequests)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 100 {
				c.inc("GET /v1/events", 200)
				c.inc("", 404+i%2)
			}
		})
	}
	wg.Wait()
	for _, w := range []struct {
		route, code string
		n           float64
	}{{"GET /v1/events", "200", 400}, {"unmatched", "404", 200}, {"unmatched", "405", 200}} {
		var v dto.Metric
		if err := m.HTTPRequests.WithLabelValues(w.route, w.code).Write(&v); err != nil || v.GetCounter().GetValue() != w.n {
			t.Errorf("%s %s: %v (%v), want %v", w.route, w.code, v.GetCounter().GetValue(), err, w.n)
		}
	}
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "herald_http_requests_total" && len(f.GetMetric()) != 3 {
			t.Errorf("%d series, want 3", len(f.GetMetric()))
		}
	}
}
