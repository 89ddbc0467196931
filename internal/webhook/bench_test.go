package webhook_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/webhook"
)

// BenchmarkDelivery measures deliveries per second to a receiver on
// loopback that answers at once: signing, the request, the position.
func BenchmarkDelivery(b *testing.B) {
	for _, mode := range []struct {
		name    string
		ordered bool
	}{{"ordered", true}, {"window", false}} {
		b.Run(mode.name, func(b *testing.B) {
			e := newEnv(b, webhook.Config{CommitEvery: time.Second})
			var n atomic.Int64
			rc := newReceiver(b, func(int, http.ResponseWriter) int { n.Add(1); return 204 })
			rc.mu.Lock()
			rc.reqs = nil
			rc.mu.Unlock()
			ordered := "false"
			if mode.ordered {
				ordered = "true"
			}
			e.create(b, `{"url":"`+rc.srv.URL+`","topics":["bench.>"],"ordered":`+ordered+`}`)
			e.publish(b, "bench.x", 1)
			waitFor(b, "the first delivery", func() bool { return n.Load() == 1 })
			b.ResetTimer()
			start := time.Now()
			e.publish(b, "bench.x", b.N)
			waitFor(b, "the deliveries", func() bool { return n.Load() == int64(b.N)+1 })
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
		})
	}
}
