package plex

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkScanToWebSockets: a 1,000-item scan simulation (2,000+ events)
// delivered to many WebSocket listeners. It reports deliveries/s and the
// p99 of publish-to-receive latency of the scan's last event per listener.
// The target is 2,000 listeners: go test -bench ScanToWebSockets/2000.
func BenchmarkScanToWebSockets(b *testing.B) {
	for _, listeners := range []int{100, 2000} {
		b.Run(strconv.Itoa(listeners), func(b *testing.B) { benchScan(b, listeners) })
	}
}

func benchScan(b *testing.B, listeners int) {
	e := newEnv(b, Config{})
	conns := make([]*websocket.Conn, listeners)
	for i := range conns {
		c, _, err := websocket.Dial(context.Background(), "ws"+e.srv.URL[4:]+"/:/websocket/notifications",
			&websocket.DialOptions{HTTPHeader: http.Header{"X-Plex-Token": {e.token}}})
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(1 << 20)
		conns[i] = c
		defer c.CloseNow()
	}
	want := scanEvents(1000)
	b.ResetTimer()
	var delivered int64
	var lat []time.Duration
	for range b.N {
		start := time.Now()
		var res SimulateResponse
		var wg sync.WaitGroup
		done := make([]time.Duration, listeners)
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ; n++ {
					_, _, err := c.Read(context.Background())
					if err != nil {
						return
					}
					if n+1 == want {
						done[i] = time.Since(start)
						return
					}
				}
			}()
		}
		if s := e.post("/v1/plex/simulate/scan", e.admin, `{"items":1000}`, &res); s != 200 {
			b.Fatalf("status %d", s)
		}
		wg.Wait()
		delivered += int64(res.Events) * int64(listeners)
		lat = append(lat, done...)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(delivered)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
}

// scanEvents is how many events a scan of n items publishes (see scanSteps).
func scanEvents(n int) int {
	total := 0
	for _, step := range scanSteps("1", "S", "movie", n, 0, "u", time.Now()) {
		total += len(step)
	}
	return total
}
