package hub

import (
	"context"
	"fmt"
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
