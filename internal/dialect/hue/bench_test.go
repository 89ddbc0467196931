package hue

import (
	"bufio"
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkPressTo1000Streams: 1,000 event-stream clients; each iteration
// presses a button and waits until every client has the press's
// short_release. Reports the p99 from the press request to arrival.
func BenchmarkPressTo1000Streams(b *testing.B) {
	const clients = 1000
	br := newBridge(b, Config{})
	button := br.addDevice("smart_button", "Bench")["button"][0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	arrivals := make(chan time.Time, clients*16)
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for i := 0; i < clients; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", br.url+"/eventstream/clip/v2", nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set(appKeyHeader, br.app)
		res, err := client.Do(req)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("stream %d: %v", i, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				if strings.Contains(sc.Text(), `"short_release"`) {
					arrivals <- time.Now()
				}
			}
		}()
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		br.adminDo("/v1/hue/press", `{"button":"`+button+`","action":"short"}`)
		for j := 0; j < clients; j++ {
			select {
			case t := <-arrivals:
				lat = append(lat, t.Sub(start))
			case <-time.After(30 * time.Second):
				b.Fatalf("press %d: only %d of %d clients got it", i, j, clients)
			}
		}
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkMessagesFor1000Streams: the SSE messages of one press (two
// events) for 1,000 streams, built per stream (as before the message
// cache) and shared through it. The encodings of the events are cached by
// the hub either way; the difference is the message around them.
func BenchmarkMessagesFor1000Streams(b *testing.B) {
	const streams = 1000
	br := newBridge(b, Config{})
	f := br.api.evFmt
	for _, mode := range []string{"per-stream", "shared"} {
		b.Run(mode, func(b *testing.B) {
			var dst [][]byte
			seq := uint64(0)
			for b.Loop() {
				seq += 2
				evs := batch(seq-1, seq)
				var c msgCache
				for range streams {
					if mode == "shared" {
						dst = c.frames(dst[:0], f, evs)
					} else {
						dst = append(dst[:0], appendMessage(nil, f, evs)) // Frames before the cache
					}
				}
			}
		})
	}
}
