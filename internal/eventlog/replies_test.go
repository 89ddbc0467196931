package eventlog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/herald-io/herald/internal/topic"
)

// Reads and duplicates' gets at once share the Log's reply subscription:
// each gets its own answers, complete and in order.
func TestConcurrentReadsGetTheirOwnAnswers(t *testing.T) {
	l := openTest(t, Config{})
	ctx := context.Background()
	const total = 2000
	ds := make([]Draft, total)
	for i := range ds {
		ds[i] = Draft{Topic: fmt.Sprintf("app.t%d", i%4), Type: "t", Data: []byte(fmt.Sprintf(`{"n":%d}`, i)), ID: fmt.Sprintf("id%d", i)}
	}
	if _, err := l.Append(ctx, ds); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 20 {
				after := uint64((g*97 + k*131) % (total - 300))
				switch k % 3 {
				case 0: // the whole log
					evs, _, err := l.Read(ctx, after, nil, 300)
					if err != nil {
						t.Error(err)
						return
					}
					for i, e := range evs {
						if e.Seq != after+1+uint64(i) || string(e.Data) != fmt.Sprintf(`{"n":%d}`, e.Seq-1) {
							t.Errorf("read after %d: event %d is %d %s", after, i, e.Seq, e.Data)
							return
						}
					}
					if len(evs) != 300 {
						t.Errorf("read after %d: %d events", after, len(evs))
					}
				case 1: // two patterns, merged
					evs, _, err := l.Read(ctx, after, topic.Filter{"app.t1", "app.t3"}, 100)
					if err != nil {
						t.Error(err)
						return
					}
					want := after + 2 - after%2 // the first even sequence past after: topics t1, t3
					for i, e := range evs {
						if e.Seq != want+2*uint64(i) || e.Topic != fmt.Sprintf("app.t%d", (e.Seq-1)%4) {
							t.Errorf("filtered read after %d: event %d is %d on %s", after, i, e.Seq, e.Topic)
							return
						}
					}
					if len(evs) != 100 {
						t.Errorf("filtered read after %d: %d events", after, len(evs))
					}
				case 2: // duplicates: their stored sequences, got one by one
					from := int(after)
					acks, err := l.Append(ctx, ds[from:from+50])
					if err != nil {
						t.Error(err)
						return
					}
					for i, a := range acks {
						if !a.Duplicate || a.Seq != uint64(from+i+1) {
							t.Errorf("duplicate of %d: ack %+v", from+i+1, a)
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
}

// A request waiting for its answer when the connection closes hears so at
// once, as it did from a subscription of its own, rather than waiting out
// its context.
func TestAWaitingReadEndsWhenTheConnectionCloses(t *testing.T) {
	l := openTest(t, Config{})
	a := l.replies.expect()
	defer a.done()
	l.nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := a.next(ctx); !errors.Is(err, nats.ErrConnectionClosed) {
		t.Fatalf("next after close: %v, want %v", err, nats.ErrConnectionClosed)
	}
	if !errors.Is(engineErr(nats.ErrConnectionClosed), ErrUnavailable) {
		t.Fatal("a closed connection does not read as unavailable")
	}
}

// A small read allocates about what its answer holds: a subscription per
// read cost a 512 KiB channel each time (the client's default for a
// synchronous subscription). Bytes, not time: what the process allocated
// (the embedded engine's share included) over many reads of one event.
func TestASmallReadAllocatesLittle(t *testing.T) {
	l := openTest(t, Config{})
	ctx := context.Background()
	if _, err := l.Append(ctx, drafts("app.a", 10)); err != nil {
		t.Fatal(err)
	}
	read := func() {
		if evs, _, err := l.Read(ctx, 9, nil, 1); err != nil || len(evs) != 1 {
			t.Fatalf("%d events, %v", len(evs), err)
		}
	}
	read()
	const reads = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range reads {
		read()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / reads; per > 128<<10 {
		t.Fatalf("a read of one event allocated %d KiB", per>>10)
	}
}
