package hub

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// idleLog is a log with nothing in it whose tail never delivers: benchmarks
// and tests push into the hub directly.
type idleLog struct{}

func (idleLog) Read(_ context.Context, after uint64, _ topic.Filter, _ int) ([]eventlog.Event, uint64, error) {
	return nil, after, nil // scanned to the end, as the log answers
}
func (idleLog) Tail(ctx context.Context, _ uint64, _ func(eventlog.Event)) error {
	<-ctx.Done()
	return nil
}
func (idleLog) Bounds(context.Context) (uint64, uint64, error) { return 0, 0, nil }

func BenchmarkFanout1k(b *testing.B)  { benchFanout(b, 1000) }
func BenchmarkFanout10k(b *testing.B) { benchFanout(b, 10000) }

// benchFanout pushes b.N events and waits until each of n subscribers, one
// goroutine each as a connection would have, received all of them.
func benchFanout(b *testing.B, n int) {
	h, err := Start(context.Background(), idleLog{}, Config{WindowEvents: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	data := json.RawMessage(`{"temperature":21.5,"device":"kitchen"}`)
	var wg sync.WaitGroup
	ctx := context.Background()
	for i := 0; i < n; i++ {
		s := h.Subscribe(0, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Close()
			for got := 0; got < b.N; {
				evs, err := s.Next(ctx, 256)
				if err != nil {
					b.Error(err)
					return
				}
				got += len(evs)
			}
		}()
	}
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		h.push(eventlog.Event{Seq: uint64(i), Topic: "app.x", Type: "t", Data: data})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "deliveries/s")
}

// BenchmarkWindowReplay reads the whole in-memory window from its start.
func BenchmarkWindowReplay(b *testing.B) {
	h, err := Start(context.Background(), idleLog{}, Config{WindowEvents: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	const total = 1 << 16
	for i := 1; i <= total; i++ {
		h.push(eventlog.Event{Seq: uint64(i), Topic: "app.x", Type: "t", Data: json.RawMessage(`{}`)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	read := 0
	for i := 0; i < b.N; i++ {
		s := h.Subscribe(0, nil)
		for s.Position() < total {
			evs, err := s.Poll(context.Background(), 1000)
			if err != nil {
				b.Fatal(err)
			}
			read += len(evs)
		}
		s.Close()
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReadsAtWindowEnd is 500 pull consumers reading their writes at
// the window's end at once (a burst of Jetstream Gets, say) against the
// embedded engine: each Read that finds the window complete must still
// learn how far the log goes.
func BenchmarkReadsAtWindowEnd(b *testing.B) {
	l, h := setup(b, eventlog.Config{}, Config{})
	publish(b, l, "app.a", 10)
	waitFor(b, func() bool { return h.Last() == 10 })
	ctx := context.Background()
	const readers = 500
	b.ResetTimer()
	for b.Loop() {
		var wg sync.WaitGroup
		for range readers {
			wg.Go(func() {
				if _, _, err := h.Read(ctx, 5, nil, 100); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*readers), "ns/read")
}

// BenchmarkCatchUpFromLog is 20 subscribers at once, each 1,000 events
// behind the window (a burst of reconnects), catching up from the embedded
// engine's log in pages of 100: reads the window cannot serve.
func BenchmarkCatchUpFromLog(b *testing.B) {
	l, h := setup(b, eventlog.Config{}, Config{WindowEvents: 1000})
	const total, behind, subs, page = 5000, 1000, 20, 100
	for range total / 1000 {
		publish(b, l, "app.a", 1000)
	}
	waitFor(b, func() bool { return h.Last() == total })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var wg sync.WaitGroup
		for range subs {
			wg.Go(func() {
				s := h.Subscribe(total-1000-behind, nil)
				defer s.Close()
				for got := 0; got < behind; {
					evs, err := s.Poll(ctx, page)
					if err != nil || len(evs) == 0 {
						b.Errorf("%d events, %v", len(evs), err)
						return
					}
					got += len(evs)
				}
			})
		}
		wg.Wait()
	}
	b.ReportMetric(float64(b.N*subs*behind)/b.Elapsed().Seconds(), "events/s")
}
