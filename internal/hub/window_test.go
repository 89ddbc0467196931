package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// startIdle starts a hub over idleLog; tests push into it directly.
func startIdle(t testing.TB, cfg Config) *Hub {
	t.Helper()
	h, err := Start(context.Background(), idleLog{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func pushN(h *Hub, from, to int, data func(i int) []byte) {
	for i := from; i <= to; i++ {
		h.push(eventlog.Event{Seq: uint64(i), Topic: "app.x", Type: "t", Data: data(i)})
	}
}

func small(i int) []byte { return json.RawMessage(fmt.Sprintf(`{"i":%d}`, i)) }

// bounds returns the window's oldest and newest sequence.
func bounds(h *Hub) (lo, hi uint64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.lo, h.hi
}

func TestWindowKeepsItsSlots(t *testing.T) {
	const n = 8
	h := startIdle(t, Config{WindowEvents: n})
	pushN(h, 1, n, small)
	if lo, hi := bounds(h); lo != 1 || hi != n {
		t.Fatalf("a full window of %d slots holds %d..%d, want 1..%d", n, lo, hi, n)
	}
	pushN(h, n+1, n+1, small)
	if lo, hi := bounds(h); lo != 2 || hi != n+1 {
		t.Fatalf("after one more event the window holds %d..%d, want 2..%d", lo, hi, n+1)
	}
}

// backLog answers every read with nothing and a next of 0, behind the
// reader's position, as the benchmarks' fake log once did.
type backLog struct{ idleLog }

func (backLog) Read(context.Context, uint64, topic.Filter, int) ([]eventlog.Event, uint64, error) {
	return nil, 0, nil
}

// A replay of a full window returns each event once and ends at the
// window's end, whatever the log answers for what lies past it: a position
// never moves back (it had, and BenchmarkWindowReplay never finished).
func TestReplayOfFullWindowEnds(t *testing.T) {
	const n = 8
	h, err := Start(context.Background(), backLog{}, Config{WindowEvents: n})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	pushN(h, 1, n, small)
	s := h.Subscribe(0, nil)
	defer s.Close()
	var got []*Event
	for polls := 0; s.Position() < n; polls++ {
		if polls > n {
			t.Fatalf("replay not done after %d polls: position %d, got %v", polls, s.Position(), seqs(got))
		}
		evs, err := s.Poll(context.Background(), 3)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, evs...)
		if s.Position() < uint64(len(got)) {
			t.Fatalf("position went back to %d after %d events", s.Position(), len(got))
		}
	}
	if fmt.Sprint(seqs(got)) != "[1 2 3 4 5 6 7 8]" {
		t.Fatalf("replay got %v", seqs(got))
	}
	if evs, err := s.Poll(context.Background(), 3); err != nil || len(evs) != 0 || s.Position() != n {
		t.Fatalf("poll at the end = %v, %v, position %d", seqs(evs), err, s.Position())
	}
	// Read, for cursors, answers from the window and asks the log for the rest.
	if evs, next, err := h.Read(context.Background(), 5, nil, 10); err != nil || len(evs) != 3 || next != n {
		t.Fatalf("Read after 5 = %d events, next %d, %v; want 3, %d", len(evs), next, err, n)
	}
}
