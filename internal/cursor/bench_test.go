package cursor

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// BenchmarkPollAckNext is a subscription's loop on one node, as a parked
// fetch's answer makes it (native.parkFetch): the poll acknowledges the
// batch before and forms the next of one event, read from the hub's
// window, in one compare-and-set on the engine.
func BenchmarkPollAckNext(b *testing.B) {
	const events = 1000
	e := setup(b)
	ctx := context.Background()
	s := New(e.kv, e.hub, e.hub, Config{})
	drafts := make([]eventlog.Draft, events)
	for i := range drafts {
		drafts[i] = eventlog.Draft{Topic: "bench.load", Type: "t", Data: json.RawMessage(`{"n":1}`)}
	}
	acks, err := e.log.Append(ctx, drafts)
	if err != nil {
		b.Fatal(err)
	}
	for e.hub.Last() < acks[len(acks)-1].Seq {
		time.Sleep(time.Millisecond)
	}
	f := topic.Filter{"bench.>"}
	var st State
	var batch string
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%events == 0 {
			b.StopTimer()
			n++
			if st, err = s.Create(ctx, fmt.Sprintf("bench.c%d", n), Spec{Filter: f, IdleTTL: time.Hour}); err != nil {
				b.Fatal(err)
			}
			st, _ = s.Recent(ctx, st.ID)
			batch = ""
			b.StartTimer()
		}
		var change func(*State) error
		if batch != "" {
			change = AckBatch(batch)
		}
		got, err := s.Poll(ctx, st, PollRequest{Max: 1, Change: change, Waited: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(got.Events) != 1 {
			b.Fatalf("poll %d: %d events", i, len(got.Events))
		}
		st, batch = got.State, got.BatchID
	}
}
