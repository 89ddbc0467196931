package hub

import (
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// PollWindow serves what the window holds and says when a subscriber must
// go to the log instead; Notify wakes on the next event and is nil once the
// hub is closed.
func TestNotifyAndPollWindow(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{WindowEvents: 4})
	last, changed := h.Notify()
	publish(t, l, "app.a", 1)
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("Notify's channel was not closed by the next event")
	}
	publish(t, l, "app.b", 5) // the window now holds 3..6
	waitLast(t, h, last+6)

	cases := []struct {
		name   string
		after  uint64
		filter string
		max    int
		seqs   []uint64
		ok     bool
		pos    uint64
	}{
		{"in the window", 3, "app.>", 10, []uint64{4, 5, 6}, true, 6},
		{"up to max", 2, "app.>", 2, []uint64{3, 4}, true, 4},
		{"filtered", 2, "app.a", 10, nil, true, 6},
		{"caught up", 6, "app.>", 10, nil, true, 6},
		{"behind the window", 1, "app.>", 10, nil, false, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := topic.ParseFilter(tc.filter)
			s := h.Subscribe(tc.after, f)
			defer s.Close()
			evs, ok := s.PollWindow(nil, tc.max)
			var seqs []uint64
			for _, e := range evs {
				seqs = append(seqs, e.Seq)
			}
			if ok != tc.ok || s.Position() != tc.pos || len(seqs) != len(tc.seqs) {
				t.Fatalf("got %v ok=%v pos=%d, want %v ok=%v pos=%d", seqs, ok, s.Position(), tc.seqs, tc.ok, tc.pos)
			}
			for i := range seqs {
				if seqs[i] != tc.seqs[i] {
					t.Fatalf("got %v, want %v", seqs, tc.seqs)
				}
			}
		})
	}

	h.Close()
	if _, changed := h.Notify(); changed != nil {
		t.Fatal("Notify after Close returned a channel")
	}
}

func waitLast(t *testing.T, h *Hub, want uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.Last() < want {
		if time.Now().After(deadline) {
			t.Fatalf("hub at %d, want %d", h.Last(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
