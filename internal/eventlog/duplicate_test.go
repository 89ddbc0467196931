package eventlog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-io/herald/internal/eventlog"
)

// A batch of many duplicates, in another order than they were stored and
// among fresh drafts, gets each stored event's sequence and time, not this
// attempt's: more of them than the gets kept in flight at once, stored at
// different times.
func TestDuplicatesGetTheStoredTimes(t *testing.T) {
	ctx := context.Background()
	l, err := eventlog.Open(ctx, eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	checkDuplicates(ctx, t, l, store(ctx, t, l, ""))
}

// Through a node whose replica is a follower, right after the events were
// stored through the leader's node.
func TestDuplicatesThroughAFollower(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	urls := c.URLs()
	leader := leaderOf(ctx, t, c, openOn(ctx, t, urls...))
	w := openOn(ctx, t, urls[leader])
	l := openOn(ctx, t, urls[(leader+1)%c.Size()])
	for round := range 3 {
		checkDuplicates(ctx, t, l, store(ctx, t, w, fmt.Sprintf("r%d-", round)))
	}
}

// What the replica answering a direct get does not hold yet, the leader
// has. A follower that lags cannot be made to on cue; a mirror that
// answers the log's direct gets and holds none of the events asked for is
// one that lags for good: it answers about half the gets, "not found".
func TestDuplicatesThroughALaggingReplica(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	l, err := eventlog.Open(ctx, eventlog.Config{Dir: t.TempDir(), Listen: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	nc, err := nats.Connect(l.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	mirror, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:         "LAGGING",
		Mirror:       &jetstream.StreamSource{Name: "HERALD", FilterSubject: "herald.ev.elsewhere.>"},
		MirrorDirect: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The mirror answers direct gets once it has mirrored a message.
	if _, err := l.Append(ctx, []eventlog.Draft{{Topic: "elsewhere.x", Type: "t"}}); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := mirror.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkDuplicates(ctx, t, l, store(ctx, t, l, ""))
}

// store stores 1,500 events with ids (after prefix) through w, 300 at a
// time a few milliseconds apart, and returns their acks by id.
func store(ctx context.Context, t *testing.T, w *eventlog.Log, prefix string) map[string]eventlog.Ack {
	t.Helper()
	const n, per = 1500, 300
	ds := make([]eventlog.Draft, n)
	for i := range ds {
		ds[i] = eventlog.Draft{ID: fmt.Sprintf("%sdup-%d", prefix, i), Topic: fmt.Sprintf("app.dup.t%d", i%7), Type: "t", Data: json.RawMessage(`{"x":1}`)}
	}
	stored := map[string]eventlog.Ack{}
	for i := 0; i < n; i += per {
		acks, err := w.Append(ctx, ds[i:i+per])
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acks {
			stored[a.ID] = a
		}
		if i+per < n {
			time.Sleep(3 * time.Millisecond) // each batch its own time
		}
	}
	return stored
}

// checkDuplicates appends the events of stored again through l at once,
// shuffled, with a fresh draft after every tenth, and checks that each
// duplicate's ack has its stored sequence and time.
func checkDuplicates(ctx context.Context, t *testing.T, l *eventlog.Log, stored map[string]eventlog.Ack) {
	t.Helper()
	var again []eventlog.Draft
	for id := range stored { // in random order
		again = append(again, eventlog.Draft{ID: id, Topic: "app.dup.again", Type: "t", Data: json.RawMessage(`2`)})
		if len(again)%10 == 0 {
			again = append(again, eventlog.Draft{ID: fmt.Sprintf("fresh-%d", rand.Uint64()), Topic: "app.dup.fresh", Type: "t"})
		}
	}
	start := time.Now()
	acks, err := l.Append(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	dups := 0
	for i, a := range acks {
		first, dup := stored[again[i].ID]
		switch {
		case a.Duplicate != dup:
			t.Fatalf("draft %d (%s): duplicate %t, want %t", i, again[i].ID, a.Duplicate, dup)
		case !dup:
			if a.Time.Before(start.Add(-time.Second)) {
				t.Fatalf("fresh draft %d: time %s, before the append began at %s", i, a.Time, start)
			}
		case a.Seq != first.Seq || !a.Time.Equal(first.Time):
			t.Fatalf("duplicate %s: ack %d at %s, stored as %d at %s", a.ID, a.Seq, a.Time, first.Seq, first.Time)
		default:
			dups++
		}
	}
	if dups != len(stored) {
		t.Fatalf("%d duplicates, want %d", dups, len(stored))
	}
}

// A duplicate whose event the size limit has removed, while the engine
// still remembers its id, has no stored time to report: its ack says so
// with a zero Time, rather than this attempt's.
func TestDuplicateOfARemovedEvent(t *testing.T) {
	ctx := context.Background()
	l, err := eventlog.Open(ctx, eventlog.Config{Dir: t.TempDir(), MaxBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d := []eventlog.Draft{{ID: "gone", Topic: "app.gone", Type: "t", Data: json.RawMessage(`1`)}}
	first, err := l.Append(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	pad := make([]eventlog.Draft, 100)
	for i := range pad {
		pad[i] = eventlog.Draft{Topic: "app.pad", Type: "t", Data: json.RawMessage(`"padding padding padding"`)}
	}
	if _, err := l.Append(ctx, pad); err != nil {
		t.Fatal(err)
	}
	if low, _, err := l.Bounds(ctx); err != nil || low <= first[0].Seq {
		t.Fatalf("bounds from %d (%v): event %d not removed", low, err, first[0].Seq)
	}
	again, err := l.Append(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if a := again[0]; !a.Duplicate || a.Seq != first[0].Seq || !a.Time.IsZero() {
		t.Fatalf("again: %+v; want a duplicate at %d with a zero time", a, first[0].Seq)
	}
}
