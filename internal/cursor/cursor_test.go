package cursor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/topic"
)

type env struct {
	log   *eventlog.Log
	hub   *hub.Hub
	kv    eventlog.KV
	store *Store
	now   time.Time
	mu    sync.Mutex
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func setup(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	l, err := eventlog.Open(ctx, eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.Start(ctx, l, hub.Config{})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := l.KV(ctx, "cursors")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{log: l, hub: h, kv: kv, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e.store = New(kv, l, h, Config{Now: e.clock})
	t.Cleanup(func() {
		h.Close()
		l.Close()
	})
	return e
}

func (e *env) publish(t *testing.T, topicName string, n int) {
	t.Helper()
	ds := make([]eventlog.Draft, n)
	for i := range ds {
		ds[i] = eventlog.Draft{Topic: topicName, Type: "t", Data: json.RawMessage(`{}`)}
	}
	if _, err := e.log.Append(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
}

func seqs(evs []eventlog.Event) string {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return fmt.Sprint(out)
}

func TestFetchAckRedeliver(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	f, _ := topic.ParseFilter("app.>")
	if _, err := e.store.Create(ctx, "native.orders", Spec{Filter: f}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Create(ctx, "native.orders", Spec{}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create err = %v", err)
	}
	e.publish(t, "app.a", 3)
	e.publish(t, "other.x", 2)
	e.publish(t, "app.b", 3)

	b1, err := e.store.Fetch(ctx, "native.orders", 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(b1.Events); got != "[1 2 3 6]" || b1.BatchID == "" {
		t.Fatalf("first batch %s %q", got, b1.BatchID)
	}
	// Not acknowledged: the same batch again, even with another limit.
	again, err := e.store.Fetch(ctx, "native.orders", 100, 0)
	if err != nil || again.BatchID != b1.BatchID || seqs(again.Events) != "[1 2 3 6]" {
		t.Fatalf("redelivery = %q %s, %v", again.BatchID, seqs(again.Events), err)
	}
	if _, err := e.store.Ack(ctx, "native.orders", "nope"); !errors.Is(err, ErrBatchNotFound) {
		t.Fatalf("Ack(unknown) err = %v", err)
	}
	st, err := e.store.Ack(ctx, "native.orders", b1.BatchID)
	if err != nil || st.Acked != 6 || st.Batch != nil {
		t.Fatalf("Ack = %+v, %v", st, err)
	}
	if _, err := e.store.Ack(ctx, "native.orders", b1.BatchID); !errors.Is(err, ErrBatchNotFound) {
		t.Fatalf("second Ack err = %v", err)
	}
	b2, err := e.store.Fetch(ctx, "native.orders", 100, 0)
	if err != nil || seqs(b2.Events) != "[7 8]" || b2.BatchID == b1.BatchID {
		t.Fatalf("second batch = %q %s, %v", b2.BatchID, seqs(b2.Events), err)
	}
	// AckUpTo covering part of the batch drops it; the rest comes in a new one.
	if _, err := e.store.AckUpTo(ctx, "native.orders", 7); err != nil {
		t.Fatal(err)
	}
	b3, err := e.store.Fetch(ctx, "native.orders", 100, 0)
	if err != nil || seqs(b3.Events) != "[8]" || b3.BatchID == b2.BatchID {
		t.Fatalf("after AckUpTo = %q %s, %v", b3.BatchID, seqs(b3.Events), err)
	}
	if n, _ := e.store.Pending(ctx, b3.State, 100); n != 1 {
		t.Fatalf("Pending = %d", n)
	}
}

func TestFetchWaits(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.store.Create(ctx, "q", Spec{}); err != nil {
		t.Fatal(err)
	}
	empty, err := e.store.Fetch(ctx, "q", 10, 0)
	if err != nil || empty.BatchID != "" || len(empty.Events) != 0 {
		t.Fatalf("empty fetch = %+v, %v", empty, err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		e.publish(t, "app.x", 2)
	}()
	got, err := e.store.Fetch(ctx, "q", 10, 10*time.Second)
	if err != nil || len(got.Events) == 0 || got.Events[0].Seq != 1 {
		t.Fatalf("waiting fetch = %+v, %v", got, err)
	}
	start := time.Now()
	st, _ := e.store.Ack(ctx, "q", got.BatchID)
	if st.Acked < 1 {
		t.Fatalf("acked %d", st.Acked)
	}
	if _, err := e.store.AckUpTo(ctx, "q", 2); err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.Fetch(ctx, "q", 10, 30*time.Millisecond); err != nil || len(got.Events) != 0 {
		t.Fatalf("timed-out fetch = %+v, %v", got, err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("fetch with wait returned before the wait")
	}
}

func TestIdleExpiry(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.store.Create(ctx, "zulip.q1", Spec{IdleTTL: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Create(ctx, "zulip.q2", Spec{IdleTTL: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Create(ctx, "keep", Spec{}); err != nil {
		t.Fatal(err)
	}
	e.advance(9 * time.Minute)
	if _, err := e.store.Touch(ctx, "zulip.q1"); err != nil {
		t.Fatal(err)
	}
	e.advance(2 * time.Minute)
	if _, err := e.store.Get(ctx, "zulip.q2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(expired) err = %v", err)
	}
	if _, err := e.store.Get(ctx, "zulip.q1"); err != nil {
		t.Fatalf("touched cursor expired: %v", err)
	}
	e.advance(11 * time.Minute)
	n, err := e.store.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	list, _ := e.store.List(ctx, "")
	if len(list) != 1 || list[0].ID != "keep" {
		t.Fatalf("List = %+v", list)
	}
	// The name of an expired cursor is free again.
	if _, err := e.store.Create(ctx, "zulip.q1", Spec{}); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidIDs(t *testing.T) {
	e := setup(t)
	for _, id := range []string{"", "a b", "a..b", "a.>", "x*", string(make([]byte, 201))} {
		if _, err := e.store.Create(context.Background(), id, Spec{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Create(%q) err = %v", id, err)
		}
	}
}

// Two stores over the same bucket act as two herald nodes: consumers on
// both fetch and ack concurrently; every event is acknowledged exactly once.
func TestConcurrentNodesNeverLoseAnAck(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	other := New(e.kv, e.log, e.hub, Config{Now: e.clock})
	if _, err := e.store.Create(ctx, "shared", Spec{}); err != nil {
		t.Fatal(err)
	}
	const total = 300
	e.publish(t, "app.x", total)
	var mu sync.Mutex
	acked := map[uint64]int{}
	var wg sync.WaitGroup
	for i, s := range []*Store{e.store, other, e.store, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b, err := s.Fetch(ctx, "shared", 7, 0)
				if err != nil {
					t.Error(err)
					return
				}
				if b.BatchID == "" {
					return
				}
				if _, err := s.Ack(ctx, "shared", b.BatchID); err != nil {
					if errors.Is(err, ErrBatchNotFound) {
						continue // the other consumer acked this batch first
					}
					t.Error(err)
					return
				}
				mu.Lock()
				for _, ev := range b.Events {
					acked[ev.Seq]++
				}
				mu.Unlock()
			}
		}()
		_ = i
	}
	wg.Wait()
	if len(acked) != total {
		t.Fatalf("acked %d distinct events, want %d", len(acked), total)
	}
	for seq, n := range acked {
		if n != 1 {
			t.Fatalf("event %d acknowledged %d times", seq, n)
		}
	}
	st, _ := e.store.Get(ctx, "shared")
	if st.Acked != total {
		t.Fatalf("Acked = %d", st.Acked)
	}
}
