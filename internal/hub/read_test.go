package hub

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// Read answers from the window and from the log alike.
func TestReadMatchesLog(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{WindowEvents: 16})
	for i := 0; i < 5; i++ {
		publish(t, l, "app.a", 4)
		publish(t, l, "app.b", 4)
	}
	waitFor(t, func() bool { return h.Last() == 40 })
	f, _ := topic.ParseFilter("app.b")
	ctx := context.Background()
	for _, after := range []uint64{0, 10, 24, 30, 39, 40} {
		for _, max := range []int{1, 3, 100} {
			want, wantNext, err1 := l.Read(ctx, after, f, max)
			got, gotNext, err2 := h.Read(ctx, after, f, max)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			ws, gs := fmt.Sprint(evSeqs(want)), fmt.Sprint(evSeqs(got))
			if ws != gs {
				t.Fatalf("Read(%d, max %d): hub %s, log %s", after, max, gs, ws)
			}
			// The hub may have scanned less far than the log when it has
			// nothing more, but never past what it returned plus the window.
			if gotNext > wantNext || gotNext < after {
				t.Fatalf("Read(%d, max %d): next %d, log %d", after, max, gotNext, wantNext)
			}
		}
	}
}

func evSeqs(evs []eventlog.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

// fixedLog holds events 1..n; its tail never delivers, so a test decides
// what reaches the hub's window.
type fixedLog struct{ n uint64 }

func (l fixedLog) Read(_ context.Context, after uint64, f topic.Filter, max int) ([]eventlog.Event, uint64, error) {
	var out []eventlog.Event
	for seq := after + 1; seq <= l.n && len(out) < max; seq++ {
		out = append(out, eventlog.Event{Seq: seq, Topic: "app.a"})
	}
	if len(out) == max {
		return out, out[len(out)-1].Seq, nil
	}
	return out, l.n, nil
}
func (fixedLog) Tail(ctx context.Context, _ uint64, _ func(eventlog.Event)) error {
	<-ctx.Done()
	return nil
}
func (l fixedLog) Bounds(context.Context) (uint64, uint64, error) { return 1, l.n, nil }

// Events stored but not yet delivered by the tail are read too: the window
// answers what it has, the log the rest.
func TestReadIncludesWhatTheTailHasNotDelivered(t *testing.T) {
	h := windowOf(t, fixedLog{n: 5}, 1, 1, 2) // a window starting at 1, as after a restart at 0
	got, next, err := h.Read(context.Background(), 1, nil, 10)
	if err != nil || fmt.Sprint(evSeqs(got)) != "[2 3 4 5]" || next != 5 {
		t.Fatalf("Read = %v, next %d, %v", evSeqs(got), next, err)
	}
	got, next, _ = h.Read(context.Background(), 0, nil, 2)
	if fmt.Sprint(evSeqs(got)) != "[1 2]" || next != 2 {
		t.Fatalf("Read(0, 2) = %v, next %d", evSeqs(got), next)
	}
}

// A poll reads its writes too: the window's events and then what the tail
// has not delivered yet, in order; a blocking Next answers from the window.
func TestPollIncludesWhatTheTailHasNotDelivered(t *testing.T) {
	h := windowOf(t, fixedLog{n: 5}, 1, 1, 2)
	ctx := context.Background()
	s := h.Subscribe(0, nil)
	defer s.Close()
	got, err := s.Poll(ctx, 10)
	var seqs []uint64
	for _, e := range got {
		seqs = append(seqs, e.Seq)
	}
	if err != nil || fmt.Sprint(seqs) != "[1 2 3 4 5]" || s.Position() != 5 {
		t.Fatalf("Poll = %v at %d, %v; want [1 2 3 4 5] at 5", seqs, s.Position(), err)
	}
	s.Reset(0)
	if got, _ := s.Poll(ctx, 2); len(got) != 2 || s.Position() != 2 {
		t.Fatalf("Poll(max 2) = %d events at %d", len(got), s.Position())
	}
	s.Reset(0)
	if got, _ := s.Next(ctx, 10); len(got) != 2 {
		t.Fatalf("Next = %d events, want the window's 2", len(got))
	}
}

// windowOf starts a hub over l whose window begins at lo and holds the
// events seqs, pushed in order (l's tail delivers nothing itself).
func windowOf(t *testing.T, l Log, lo uint64, seqs ...uint64) *Hub {
	t.Helper()
	h, err := Start(context.Background(), l, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	h.mu.Lock()
	h.lo, h.hi = lo, lo-1
	h.mu.Unlock()
	for _, seq := range seqs {
		h.push(eventlog.Event{Seq: seq, Topic: "app.a"})
	}
	return h
}

// countingLog is fixedLog, whose end a test may move, counting the engine
// calls made of it.
type countingLog struct {
	n             atomic.Uint64
	reads, bounds atomic.Int64
}

func (l *countingLog) Read(ctx context.Context, after uint64, f topic.Filter, max int) ([]eventlog.Event, uint64, error) {
	l.reads.Add(1)
	return fixedLog{n: l.n.Load()}.Read(ctx, after, f, max)
}

func (l *countingLog) Tail(ctx context.Context, after uint64, fn func(eventlog.Event)) error {
	return fixedLog{}.Tail(ctx, after, fn)
}

func (l *countingLog) Bounds(context.Context) (uint64, uint64, error) {
	l.bounds.Add(1)
	return 1, l.n.Load(), nil
}

// A read that reads its writes asks the engine only how far the log goes
// (a call that readers arriving together share, as Now's), and reads the
// log only when the window lacks some of it: polls at the window's end
// make no read of the log, polls while the tail lags read what it lacks.
func TestReadAsksTheLogOnlyForWhatTheWindowLacks(t *testing.T) {
	l := &countingLog{}
	l.n.Store(3)
	h := windowOf(t, l, 1, 1, 2, 3)
	ctx := context.Background()
	l.reads.Store(0)
	for _, after := range []uint64{0, 2, 3} {
		got, next, err := h.Read(ctx, after, nil, 10)
		if err != nil || len(got) != int(3-after) || next != 3 {
			t.Fatalf("Read(%d) = %v, next %d, %v", after, evSeqs(got), next, err)
		}
		s := h.Subscribe(after, nil)
		evs, err := s.Poll(ctx, 10)
		s.Close()
		if err != nil || len(evs) != int(3-after) || s.Position() != 3 {
			t.Fatalf("Poll after %d = %d events at %d, %v", after, len(evs), s.Position(), err)
		}
	}
	if n := l.reads.Load(); n != 0 {
		t.Fatalf("%d reads of the log for ranges the window holds, want 0", n)
	}
	l.n.Store(5) // two events stored that the tail has not delivered
	got, next, err := h.Read(ctx, 3, nil, 10)
	if err != nil || fmt.Sprint(evSeqs(got)) != "[4 5]" || next != 5 || l.reads.Load() != 1 {
		t.Fatalf("Read(3) while the tail lags = %v, next %d, %v, %d log reads; want [4 5], 5, 1 read",
			evSeqs(got), next, err, l.reads.Load())
	}
}

// A pull consumer's copies of events (from Read) get the window's cached
// encodings: one encoding per event for every consumer, streams included;
// an event the window does not hold is encoded afresh.
func TestWireOfACopySharesTheWindowsEncoding(t *testing.T) {
	h := windowOf(t, fixedLog{n: 3}, 2, 2, 3) // event 1 is the log's only
	var calls atomic.Int64
	f := h.RegisterFormat("test", func(e *eventlog.Event) []byte {
		calls.Add(1)
		return fmt.Appendf(nil, "%d", e.Seq)
	})
	ctx := context.Background()
	for range 5 {
		evs, _, err := h.Read(ctx, 1, nil, 10)
		if err != nil || len(evs) != 2 {
			t.Fatalf("Read = %v, %v", evSeqs(evs), err)
		}
		for i := range evs {
			if got := string(h.Wire(&evs[i], f)); got != fmt.Sprint(evs[i].Seq) {
				t.Fatalf("Wire(%d) = %q", evs[i].Seq, got)
			}
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d encodings for 2 events read 5 times, want 2", n)
	}
	if got := string(h.Wire(&eventlog.Event{Seq: 1}, f)); got != "1" || calls.Load() != 3 {
		t.Fatalf("Wire of an event outside the window = %q after %d encodings", got, calls.Load())
	}
	// A copy whose sequence the window holds for another event (after a
	// restart of the window) is never given that event's bytes.
	if got := string(h.Wire(&eventlog.Event{Seq: 9}, f)); got != "9" {
		t.Fatalf("Wire(9) = %q", got)
	}
}
