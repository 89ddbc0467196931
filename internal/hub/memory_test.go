package hub

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// The window's budget bounds the heap it keeps, encodings included: large
// events read by an SSE, a WebSocket and a long-poll reader, each building
// its own encoding on its own goroutine, leave the heap within 1.5× of
// WindowBytes plus a fixed allowance. A memory bound, not a timing one.
func TestWindowMemoryWithEncodings(t *testing.T) {
	const (
		budget    = 8 << 20
		size      = 64 << 10
		events    = 512 // four budgets of payload alone
		batch     = 8   // pushed at a time; the readers take each before the next
		allowance = 4 << 20
	)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	h := startIdle(t, Config{WindowBytes: budget})
	encoders := map[string]func(*eventlog.Event) []byte{
		"sse": func(e *eventlog.Event) []byte {
			return append(append([]byte("data: "), e.Data...), '\n', '\n')
		},
		"ws": func(e *eventlog.Event) []byte {
			return append([]byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}, e.Data...)
		},
		"poll": func(e *eventlog.Event) []byte { return append([]byte(nil), e.Data...) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	targets := make([]chan uint64, 0, len(encoders))
	done := make(chan error)
	for name, enc := range encoders {
		f := h.RegisterFormat(name, enc)
		s := h.Subscribe(h.Last(), nil)
		to := make(chan uint64)
		targets = append(targets, to)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Close()
			for target := range to {
				var err error
				for err == nil && s.Position() < target {
					var evs []*Event
					evs, err = s.Next(ctx, batch)
					for _, e := range evs {
						e.Wire(f)
					}
				}
				done <- err
			}
		}()
	}
	for i := 1; i <= events; i += batch {
		pushN(h, i, i+batch-1, func(int) []byte { return make([]byte, size) })
		for _, to := range targets {
			to <- uint64(i + batch - 1)
		}
		for range targets {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, to := range targets {
		close(to)
	}
	wg.Wait()

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(h)
	grown := int64(after.HeapInuse) - int64(before.HeapInuse)
	bytes, kept := held(h)
	t.Logf("heap in use grew %d KiB; window: %d events, %d KiB held, %d KiB accounted",
		grown>>10, kept, bytes>>10, accounted(h)>>10)
	if limit := int64(budget)*3/2 + allowance; grown > limit {
		t.Fatalf("heap in use grew %d KiB with a %d KiB window (limit %d KiB)", grown>>10, budget>>10, limit>>10)
	}
}
