package eventlog_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// A read through a node whose replica is behind the leader never moves
// past what that replica holds: reading the whole log page by page there,
// while another node appends, and after that node was down, gets every
// event, in order, none skipped. (Direct gets are served by followers; one
// that lacks the newest events answers as if nothing matched.)
func TestReadThroughALaggingReplica(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	urls := c.URLs()
	w := openOn(ctx, t, urls[:2]...)
	batch := make([]eventlog.Draft, 50)
	for i := range batch {
		batch[i] = eventlog.Draft{Topic: "replica.t", Type: "t", Data: json.RawMessage(`{"x":"padding padding padding padding"}`)}
	}
	appendN := func(n int) {
		for sent := 0; sent < n; sent += len(batch) {
			if _, err := w.Append(ctx, batch); err != nil {
				t.Error(err)
				return
			}
		}
	}

	c.Stop(2)
	appendN(10000)
	if err := c.Restart(2); err != nil {
		t.Fatal(err)
	}
	// Back in the cluster before anything asks through it alone: a request
	// to a node still rejoining waits as long as the test's context (once,
	// in CI beside other packages' servers, all of it).
	if err := c.WaitReady(time.Minute); err != nil {
		t.Fatal(err)
	}
	r := openOn(ctx, t, urls[2:]...)

	// Each event is read through the other node right after its append
	// was acknowledged: the leader's bounds already include it, the
	// lagging replica may not hold it yet.
	after := uint64(10000)
	for range 3000 {
		acks, err := w.Append(ctx, batch[:1])
		if err != nil {
			t.Fatal(err)
		}
		want := acks[0].Seq
		for after < want {
			evs, next, err := r.Read(ctx, after, nil, 500)
			if err != nil {
				t.Fatalf("read after %d: %v", after, err)
			}
			for _, e := range evs {
				if e.Seq != after+1 {
					t.Fatalf("read after %d got event %d: events %d to %d skipped", after, e.Seq, after+1, e.Seq-1)
				}
				after = e.Seq
			}
			if next > after {
				t.Fatalf("read moved the position to %d, past its last event %d: the events between would be skipped", next, after)
			}
		}
	}
}

// A page of large events stops at the engine's byte limit for one answer:
// the position stops at the last event read, and reading on gets the rest.
func TestReadLargeEventsPageByPage(t *testing.T) {
	ctx := context.Background()
	l, err := eventlog.Open(ctx, eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	big := json.RawMessage(`"` + strings.Repeat("x", 700<<10) + `"`)
	const total = 30 // 21 MB: more than two answers' worth
	for range total {
		if _, err := l.Append(ctx, []eventlog.Draft{{Topic: "big.a", Type: "t", Data: big}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, filter := range []topic.Filter{nil, {"big.>"}, {"big.a", "other.>"}} {
		after, pages := uint64(0), 0
		for after < total {
			evs, next, err := l.Read(ctx, after, filter, 1000)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, e := range evs {
				if e.Seq != after+1 {
					t.Fatalf("filter %v: read after %d got event %d", filter, after, e.Seq)
				}
				after = e.Seq
			}
			if next != after || len(evs) == 0 {
				t.Fatalf("filter %v: %d events, next %d, last read %d: events skipped", filter, len(evs), next, after)
			}
		}
		if pages < 2 {
			t.Fatalf("filter %v: %d page(s) for %d large events: the byte limit did not apply", filter, pages, total)
		}
	}
}

// An event acknowledged to its publisher is in the next read through the
// same node, even when that node's replica is a follower that has not
// stored it yet: read your writes. (The follower answers direct gets; the
// leader acknowledges once a quorum holds the event, which need not
// include it.)
func TestReadYourWritesThroughAFollower(t *testing.T) {
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	urls := c.URLs()
	leader := leaderOf(ctx, t, c, openOn(ctx, t, urls...))
	follower := (leader + 1) % c.Size()
	w := openOn(ctx, t, urls[leader])
	// Behind by many events, it catches up while it already answers.
	c.Stop(follower)
	pad := make([]eventlog.Draft, 100)
	for i := range pad {
		pad[i] = eventlog.Draft{Topic: "pad.t", Type: "t", Data: json.RawMessage(`{"x":"padding padding padding padding"}`)}
	}
	for range 100 {
		if _, err := w.Append(ctx, pad); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Restart(follower); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(time.Minute); err != nil {
		t.Fatal(err)
	}
	l := openOn(ctx, t, urls[follower])
	d := []eventlog.Draft{{Topic: "ryw.t", Type: "t", Data: json.RawMessage(`{"x":1}`)}}
	for i := range 500 {
		acks, err := l.Append(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		seq := acks[0].Seq
		f := []topic.Filter{nil, {"ryw.>"}}[i%2]
		evs, next, err := l.Read(ctx, seq-1, f, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Seq != seq || next != seq {
			t.Fatalf("append %d acknowledged event %d; read after %d (filter %v): %d events, next %d", i, seq, seq-1, f, len(evs), next)
		}
	}
}
