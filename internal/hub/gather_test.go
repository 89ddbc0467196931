package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// long is a window no test waits out: Gather must return because max
// events were gathered.
const long = time.Minute

// TestGatherTakesWhatIsReady: events already there join the batch, up to
// max in all; the rest stay for the next call.
func TestGatherTakesWhatIsReady(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{})
	s := h.Subscribe(h.Last(), nil)
	defer s.Close()
	publish(t, l, "app.x", 5)
	waitFor(t, func() bool { return h.Last() == 5 })
	first := collect(t, s, 1)
	got := s.Gather(t.Context(), first, 3, long)
	if fmt.Sprint(seqs(got)) != "[1 2 3]" {
		t.Fatalf("gathered %v", seqs(got))
	}
	if rest := collect(t, s, 2); fmt.Sprint(seqs(rest)) != "[4 5]" {
		t.Fatalf("then %v", seqs(rest))
	}
}

// TestGatherWaitsForFollowers: events that arrive within the window join
// the batch.
func TestGatherWaitsForFollowers(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{})
	s := h.Subscribe(h.Last(), nil)
	defer s.Close()
	publish(t, l, "app.x", 1)
	first := collect(t, s, 1)
	errs := make(chan error, 1)
	go func() {
		for i := range 2 {
			_, err := l.Append(context.Background(), []eventlog.Draft{{Topic: "app.x", Type: "t", Data: json.RawMessage(fmt.Sprint(i))}})
			if err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	got := s.Gather(t.Context(), first, 3, long)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seqs(got)) != "[1 2 3]" {
		t.Fatalf("gathered %v", seqs(got))
	}
}

// TestGatherWindowEnds: with nothing more, the batch is what it was once
// the window is over (at once for no window), and the position stays.
func TestGatherWindowEnds(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{})
	s := h.Subscribe(h.Last(), nil)
	defer s.Close()
	publish(t, l, "app.x", 1)
	first := collect(t, s, 1)
	for _, d := range []time.Duration{0, -time.Second, 10 * time.Millisecond} {
		if got := s.Gather(t.Context(), first, 10, d); len(got) != 1 || got[0] != first[0] {
			t.Fatalf("window %s gathered %v", d, seqs(got))
		}
	}
	if s.Position() != 1 {
		t.Fatalf("Position = %d", s.Position())
	}
}

// TestGatherEndsWithContext: an ended context ends the window early; the
// events gathered are kept and the next call reports the error.
func TestGatherEndsWithContext(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{})
	s := h.Subscribe(h.Last(), nil)
	defer s.Close()
	publish(t, l, "app.x", 1)
	first := collect(t, s, 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if got := s.Gather(ctx, first, 10, long); len(got) != 1 {
		t.Fatalf("gathered %v", seqs(got))
	}
	if _, err := s.Next(ctx, 1); err != context.Canceled {
		t.Fatalf("next: %v", err)
	}
}
