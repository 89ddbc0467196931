package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/devcluster"
	"github.com/herald-io/herald/internal/server"
)

// BenchmarkFanoutReplicas compares the embedded engine (R1) with a
// three-server loopback cluster (R3) end to end, over HTTP, on one node:
//
//   - ingest: fanoutPublishers publishers, one event per POST, as fast as
//     they can, no streams open; events/s is what the node acknowledged;
//   - fanout: fanoutSubscribers native SSE streams open, one event every
//     1/pacedRate s (a load the machine carries, so that the latency is the
//     path's, not a queue's). p50-ms and p99-ms are publish→deliver: from
//     just before the POST to the event's arrival on a stream, over every
//     (event, stream) pair.
func BenchmarkFanoutReplicas(b *testing.B) {
	b.Run("R1-embedded", func(b *testing.B) {
		benchFanout(b, server.Config{DataDir: b.TempDir(), HTTPAddr: "127.0.0.1:0"})
	})
	b.Run("R3-cluster", func(b *testing.B) {
		c, err := devcluster.Start(b.TempDir(), 3)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Shutdown()
		benchFanout(b, server.Config{DataDir: b.TempDir(), HTTPAddr: "127.0.0.1:0", NATS: c.URLs(), Replicas: 3})
	})
}

const (
	fanoutSubscribers = 100
	fanoutPublishers  = 32
	pacedRate         = 200 // events/s
)

// fanout is a node with fanoutSubscribers streams that record latencies.
type fanout struct {
	url, key  string
	client    *http.Client
	delivered atomic.Int64 // (event, stream) pairs so far
	mu        sync.Mutex
	lat       []time.Duration // this round's
}

func benchFanout(b *testing.B, cfg server.Config) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	f := &fanout{url: srv.URL, key: srv.AdminKey(), client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: fanoutPublishers},
	}}
	defer f.client.CloseIdleConnections()
	published := int64(0)
	b.Run("ingest", func(b *testing.B) {
		var next atomic.Int64
		start := time.Now()
		var pubs sync.WaitGroup
		for p := 0; p < fanoutPublishers; p++ {
			pubs.Add(1)
			go func() {
				defer pubs.Done()
				for next.Add(1) <= int64(b.N) {
					f.publish(b)
				}
			}()
		}
		pubs.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	})

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // the streams end before wg.Wait
	for i := 0; i < fanoutSubscribers; i++ {
		body, err := f.open(ctx)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer body.Close()
			f.read(body)
		}()
	}
	// Every stream is live once each has had one event.
	f.publish(b)
	published++
	f.wait(b, published)
	b.Run("fanout", func(b *testing.B) {
		f.reset()
		t := time.NewTicker(time.Second / pacedRate)
		defer t.Stop()
		for i := 0; i < b.N; i++ {
			<-t.C
			f.publish(b)
		}
		published += int64(b.N)
		f.wait(b, published)
		f.report(b)
	})
}

func (f *fanout) open(ctx context.Context) (io.ReadCloser, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", f.url+"/v1/stream?topics=bench.>", nil)
	req.Header.Set("Authorization", "Bearer "+f.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil, fmt.Errorf("GET /v1/stream: %d", resp.StatusCode)
	}
	return resp.Body, nil
}

// read records, for each event, the time since the publisher stamped it.
func (f *fanout) read(body io.Reader) {
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Bytes()
		_, data, ok := bytes.Cut(line, []byte(`"data":`))
		if !ok || !bytes.HasPrefix(line, []byte("data: ")) {
			continue
		}
		sent, err := strconv.ParseInt(string(bytes.TrimRight(data, "}")), 10, 64)
		if err != nil {
			continue
		}
		d := time.Since(time.Unix(0, sent))
		f.mu.Lock()
		f.lat = append(f.lat, d)
		f.mu.Unlock()
		f.delivered.Add(1)
	}
}

// publish posts one event stamped with the time.
func (f *fanout) publish(b *testing.B) {
	body := fmt.Sprintf(`{"topic":"bench.fanout","type":"t","data":%d}`, time.Now().UnixNano())
	req, _ := http.NewRequest("POST", f.url+"/v1/events", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+f.key)
	resp, err := f.client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		b.Errorf("publish: %d", resp.StatusCode)
	}
}

// wait returns once every stream has every one of published events.
func (f *fanout) wait(b *testing.B, published int64) {
	want := published * fanoutSubscribers
	for deadline := time.Now().Add(60 * time.Second); f.delivered.Load() < want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", f.delivered.Load(), want)
		}
	}
}

func (f *fanout) reset() {
	f.mu.Lock()
	f.lat = f.lat[:0]
	f.mu.Unlock()
}

func (f *fanout) report(b *testing.B) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.lat) == 0 {
		return
	}
	slices.Sort(f.lat)
	b.ReportMetric(float64(f.lat[len(f.lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(f.lat[len(f.lat)*99/100].Microseconds())/1000, "p99-ms")
}
