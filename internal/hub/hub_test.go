package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

func setup(t testing.TB, lcfg eventlog.Config, hcfg Config) (*eventlog.Log, *Hub) {
	t.Helper()
	lcfg.Dir = t.TempDir()
	ctx := context.Background()
	l, err := eventlog.Open(ctx, lcfg)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Start(ctx, l, hcfg)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		l.Close()
	})
	return l, h
}

func publish(t testing.TB, l *eventlog.Log, topicName string, n int) []eventlog.Ack {
	t.Helper()
	ds := make([]eventlog.Draft, n)
	for i := range ds {
		ds[i] = eventlog.Draft{Topic: topicName, Type: "t", Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))}
	}
	acks, err := l.Append(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	return acks
}

// collect reads from s until it has n events or the deadline passes.
func collect(t testing.TB, s *Sub, n int) []*Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []*Event
	for len(out) < n {
		evs, err := s.Next(ctx, n-len(out))
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(out), n, err)
		}
		out = append(out, evs...)
	}
	return out
}

func seqs(evs []*Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func TestLiveAndFilter(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{})
	publish(t, l, "app.old", 3) // before the subscription: not delivered from "now"
	waitFor(t, func() bool { return h.Last() == 3 })
	all := h.Subscribe(h.Last(), nil)
	defer all.Close()
	f, _ := topic.ParseFilter("app.b.>")
	only := h.Subscribe(h.Last(), f)
	defer only.Close()
	publish(t, l, "app.a", 2)
	publish(t, l, "app.b.x", 2)
	if got := seqs(collect(t, all, 4)); fmt.Sprint(got) != "[4 5 6 7]" {
		t.Fatalf("all got %v", got)
	}
	if got := seqs(collect(t, only, 2)); fmt.Sprint(got) != "[6 7]" {
		t.Fatalf("filtered got %v", got)
	}
	if h.Subscribers() != 2 {
		t.Fatalf("Subscribers = %d", h.Subscribers())
	}
}

func TestCatchUpFromLogThenWindow(t *testing.T) {
	// A window of 16 events: a subscriber from 0 must read the log first.
	l, h := setup(t, eventlog.Config{}, Config{WindowEvents: 16})
	publish(t, l, "app.x", 100)
	waitFor(t, func() bool { return h.Last() == 100 })
	s := h.Subscribe(0, nil)
	defer s.Close()
	done := make(chan []*Event)
	go func() { done <- collect(t, s, 200) }()
	publish(t, l, "app.x", 100)
	evs := <-done
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
	if s.Position() != 200 {
		t.Fatalf("Position = %d", s.Position())
	}
}

func TestSlowSubscriberFallsBehindWindowAndMissesNothing(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{WindowEvents: 8})
	s := h.Subscribe(h.Last(), nil)
	defer s.Close()
	publish(t, l, "app.x", 50)
	got := collect(t, s, 3) // reads a little, then stalls while the window moves on
	publish(t, l, "app.x", 50)
	waitFor(t, func() bool { return h.Last() == 100 })
	got = append(got, collect(t, s, 97)...)
	for i, e := range got {
		if e.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d (missed or duplicated)", i, e.Seq)
		}
	}
}

func TestWireEncodedOnceAndShared(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{})
	var mu sync.Mutex
	calls := 0
	f := h.RegisterFormat("test", func(e *eventlog.Event) []byte {
		mu.Lock()
		calls++
		mu.Unlock()
		return []byte(fmt.Sprintf("%d:%s", e.Seq, e.Data))
	})
	if h.RegisterFormat("test", nil) != f {
		t.Fatal("registering a name twice gave a second format")
	}
	subs := make([]*Sub, 10)
	for i := range subs {
		subs[i] = h.Subscribe(h.Last(), nil)
		defer subs[i].Close()
	}
	publish(t, l, "app.x", 1)
	for _, s := range subs {
		e := collect(t, s, 1)[0]
		if string(e.Wire(f)) != `1:{"i":0}` {
			t.Fatalf("wire = %q", e.Wire(f))
		}
	}
	if calls != 1 {
		t.Fatalf("encoded %d times, want once", calls)
	}
}

func TestExpiredPosition(t *testing.T) {
	l, h := setup(t, eventlog.Config{MaxBytes: 4 << 10}, Config{WindowEvents: 4})
	for i := 0; i < 10; i++ {
		publish(t, l, "app.x", 10)
	}
	first, _, _ := l.Bounds(context.Background())
	waitFor(t, func() bool { return h.Last() == 100 }) // the 4-event window holds 97..100
	s := h.Subscribe(0, nil)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := s.Next(ctx, 10)
	var ee *eventlog.ExpiredError
	if !errors.As(err, &ee) || ee.Earliest != first {
		t.Fatalf("Next err = %v, want expired at %d", err, first)
	}
	if s.Position() != 0 {
		t.Fatalf("position moved to %d on error", s.Position())
	}
	s.Reset(ee.Earliest - 1)
	if evs := collect(t, s, 1); evs[0].Seq != first {
		t.Fatalf("after reset got %d, want %d", evs[0].Seq, first)
	}
}

func TestPollAndContext(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{})
	s := h.Subscribe(h.Last(), nil)
	defer s.Close()
	evs, err := s.Poll(context.Background(), 10)
	if err != nil || len(evs) != 0 {
		t.Fatalf("Poll on nothing = %v, %v", evs, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next err = %v", err)
	}
	publish(t, l, "app.x", 2)
	waitFor(t, func() bool { return h.Last() == 2 })
	if evs, _ := s.Poll(context.Background(), 10); len(evs) != 2 {
		t.Fatalf("Poll got %d events", len(evs))
	}
}

func TestCloseReleasesWaiters(t *testing.T) {
	ctx := context.Background()
	l, err := eventlog.Open(ctx, eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h, err := Start(ctx, l, Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := h.Subscribe(h.Last(), nil)
	errc := make(chan error)
	go func() {
		_, err := s.Next(ctx, 1)
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	h.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v", err)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// Events the log's retention removed leave the window too, so a read of an
// expired position fails on every node instead of being served from memory.
func TestWindowFollowsRetention(t *testing.T) {
	l, h := setup(t, eventlog.Config{MaxBytes: 4 << 10}, Config{TrimEvery: 5 * time.Millisecond})
	for i := 0; i < 10; i++ {
		publish(t, l, "app.x", 10)
	}
	waitFor(t, func() bool { return h.Last() == 100 })
	first, _, _ := l.Bounds(context.Background())
	if first <= 1 {
		t.Fatal("retention removed nothing")
	}
	waitFor(t, func() bool {
		h.mu.RLock()
		defer h.mu.RUnlock()
		return h.lo == first
	})
	s := h.Subscribe(0, nil)
	defer s.Close()
	if _, err := s.Poll(context.Background(), 10); !errors.Is(err, eventlog.ErrExpired) {
		t.Fatalf("Poll(0) err = %v, want expired", err)
	}
}

func TestNextWithin(t *testing.T) {
	l, h := setup(t, eventlog.Config{}, Config{})
	s := h.Subscribe(h.Last(), nil)
	defer s.Close()
	for i := 0; i < 3; i++ { // the timer is reused: each wait is its own
		evs, err := s.NextWithin(context.Background(), 10, 10*time.Millisecond)
		if err != nil || evs != nil {
			t.Fatalf("idle wait %d = %v, %v", i, evs, err)
		}
	}
	publish(t, l, "app.x", 2)
	var got []*Event
	for len(got) < 2 {
		evs, err := s.NextWithin(context.Background(), 10, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, evs...)
	}
	if fmt.Sprint(seqs(got)) != "[1 2]" {
		t.Fatalf("got %v", seqs(got))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.NextWithin(ctx, 10, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled wait err = %v", err)
	}
}
