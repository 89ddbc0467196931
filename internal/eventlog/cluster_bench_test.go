package eventlog_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/devcluster"
	"github.com/herald-io/herald/internal/eventlog"
)

// BenchmarkReplicas compares appends (10-event batches from 16 goroutines)
// and append→tail latency on the embedded engine (R1) and on a three-server
// loopback cluster (R3).
func BenchmarkReplicas(b *testing.B) {
	b.Run("R1-embedded", func(b *testing.B) {
		benchLog(b, eventlog.Config{Dir: b.TempDir()})
	})
	b.Run("R3-cluster", func(b *testing.B) {
		c, err := devcluster.Start(b.TempDir(), 3)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Shutdown()
		benchLog(b, eventlog.Config{URLs: c.URLs(), Replicas: 3})
	})
}

func benchLog(b *testing.B, cfg eventlog.Config) {
	ctx := context.Background()
	l, err := eventlog.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var lat []time.Duration
	tctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Tail(tctx, 0, func(e eventlog.Event) {
			sent, _ := strconv.ParseInt(string(e.Data), 10, 64)
			mu.Lock()
			lat = append(lat, time.Since(time.Unix(0, sent)))
			mu.Unlock()
		})
	}()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ds := make([]eventlog.Draft, 10)
		for pb.Next() {
			now := json.RawMessage(strconv.FormatInt(time.Now().UnixNano(), 10))
			for i := range ds {
				ds[i] = eventlog.Draft{Topic: "bench.r", Type: "t", Data: now}
			}
			if _, err := l.Append(ctx, ds); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "events/s")
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(lat)
		mu.Unlock()
		if n >= b.N*10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkReplicaRead reads through a node whose replica is a follower of
// a three-server cluster: "page" reads 100 stored events (the common case:
// the replica holds them), "own-write" appends one event and reads it
// back at once (the replica may not hold it yet; the leader fills in).
func BenchmarkReplicaRead(b *testing.B) {
	c := startCluster(b)
	ctx := context.Background()
	urls := c.URLs()
	w := openOn(ctx, b, urls...)
	l := openOn(ctx, b, urls[(leaderOf(ctx, b, c, w)+1)%c.Size()])
	ds := make([]eventlog.Draft, 100)
	for i := range ds {
		ds[i] = eventlog.Draft{Topic: "bench.r", Type: "t", Data: json.RawMessage(`{"x":1}`)}
	}
	if _, err := w.Append(ctx, ds); err != nil {
		b.Fatal(err)
	}
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			evs, _, err := l.Read(ctx, 0, nil, 100)
			if err != nil || len(evs) != 100 {
				b.Fatalf("%d events, %v", len(evs), err)
			}
		}
	})
	b.Run("own-write", func(b *testing.B) {
		missed := 0
		for b.Loop() {
			acks, err := l.Append(ctx, ds[:1])
			if err != nil {
				b.Fatal(err)
			}
			evs, _, err := l.Read(ctx, acks[0].Seq-1, nil, 10)
			if err != nil {
				b.Fatal(err)
			}
			if len(evs) == 0 {
				missed++
			}
		}
		b.ReportMetric(float64(missed)/float64(b.N), "missed/op")
	})
}

// BenchmarkReplicaAppendDuplicates appends 500 events with ids through a
// node whose replica is a follower, each batch once ("fresh") or again
// after it was stored ("dup": the stored times are read back), as
// BenchmarkAppendFresh and BenchmarkAppendDuplicates do on the embedded
// engine.
func BenchmarkReplicaAppendDuplicates(b *testing.B) {
	c := startCluster(b)
	ctx := context.Background()
	urls := c.URLs()
	l := openOn(ctx, b, urls[(leaderOf(ctx, b, c, openOn(ctx, b, urls...))+1)%c.Size()])
	ds := make([]eventlog.Draft, 500)
	batch := 0
	withIDs := func() {
		batch++
		for i := range ds {
			ds[i] = eventlog.Draft{ID: "b" + strconv.Itoa(batch) + "-" + strconv.Itoa(i), Topic: "bench.d", Type: "t", Data: json.RawMessage(`{"x":1}`)}
		}
	}
	for _, dup := range []bool{false, true} {
		b.Run(map[bool]string{false: "fresh", true: "dup"}[dup], func(b *testing.B) {
			withIDs()
			if _, err := l.Append(ctx, ds); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if !dup {
					withIDs()
				}
				acks, err := l.Append(ctx, ds)
				if err != nil || acks[0].Duplicate != dup {
					b.Fatalf("duplicate %t, %v", acks[0].Duplicate, err)
				}
			}
			b.ReportMetric(float64(b.N*len(ds))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
