package cursor

import (
	"context"
	"testing"

	"github.com/herald-io/herald/internal/topic"
)

func TestAdvanceToKeepsBatch(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	f, _ := topic.ParseFilter("app.>")
	if _, err := e.store.Create(ctx, "x.c", Spec{Filter: f}); err != nil {
		t.Fatal(err)
	}
	e.publish(t, "app.a", 5)
	b1, err := e.store.Fetch(ctx, "x.c", 3, 0)
	if err != nil || seqs(b1.Events) != "[1 2 3]" {
		t.Fatalf("fetch %s %v", seqs(b1.Events), err)
	}
	// Inside the batch: the position moves, the batch keeps its id and
	// its remaining events.
	st, err := e.store.AdvanceTo(ctx, "x.c", 2)
	if err != nil || st.Acked != 2 || st.Batch == nil || st.Batch.ID != b1.BatchID {
		t.Fatalf("AdvanceTo(2) = %+v, %v", st, err)
	}
	again, err := e.store.Fetch(ctx, "x.c", 100, 0)
	if err != nil || again.BatchID != b1.BatchID || seqs(again.Events) != "[3]" {
		t.Fatalf("redelivery %q %s %v", again.BatchID, seqs(again.Events), err)
	}
	// Backwards is a no-op.
	if st, err = e.store.AdvanceTo(ctx, "x.c", 1); err != nil || st.Acked != 2 || st.Batch == nil {
		t.Fatalf("AdvanceTo(1) = %+v, %v", st, err)
	}
	if st, err = e.store.Ack(ctx, "x.c", b1.BatchID); err != nil || st.Acked != 3 {
		t.Fatalf("Ack = %+v, %v", st, err)
	}
	// Covering the whole batch acknowledges it.
	b2, _ := e.store.Fetch(ctx, "x.c", 1, 0)
	if st, err = e.store.AdvanceTo(ctx, "x.c", 5); err != nil || st.Acked != 5 || st.Batch != nil {
		t.Fatalf("AdvanceTo(5) over %s = %+v, %v", seqs(b2.Events), st, err)
	}
}
