package lease_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/eventlog/memkv"
	"github.com/herald-io/herald/internal/lease"
)

const ttl = 300 * time.Millisecond

// exclusive counts a job's running instances and fails the test if two
// ever run at once.
type exclusive struct {
	t       *testing.T
	running atomic.Int32
	mu      sync.Mutex
	starts  []string // holder of each start, in order
}

func (x *exclusive) job(holder string) func(context.Context) {
	return func(ctx context.Context) {
		if n := x.running.Add(1); n > 1 {
			x.t.Errorf("%s started while %d other instances run", holder, n-1)
		}
		x.mu.Lock()
		x.starts = append(x.starts, holder)
		x.mu.Unlock()
		<-ctx.Done()
		x.running.Add(-1)
	}
}

func (x *exclusive) holders() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.starts...)
}

// waitFor polls cond until it holds; the timeout only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// run starts e.Run in the background; the returned func stops it and
// waits for it.
func run(t *testing.T, e *lease.Elector, name string, job func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, name, job) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestOneHolderAndHandOver(t *testing.T) {
	kv := memkv.New()
	x := &exclusive{t: t}
	stops := map[string]func(){}
	for _, h := range []string{"a", "b", "c"} {
		e := lease.New(kv, lease.Config{Holder: h, TTL: ttl})
		stops[h] = run(t, e, "job", x.job(h))
	}
	waitFor(t, "a holder", func() bool { return len(x.holders()) == 1 })
	probe := lease.New(kv, lease.Config{Holder: "probe", TTL: ttl})
	first := x.holders()[0]
	if h, err := probe.Holder(t.Context(), "job"); err != nil || h.Holder != first {
		t.Fatalf("Holder = %+v, %v; want %s", h, err, first)
	}
	stops[first]()
	waitFor(t, "a second holder", func() bool { return len(x.holders()) == 2 })
	second := x.holders()[1]
	if second == first {
		t.Fatalf("the stopped holder %s took the lease again", first)
	}
	// Only two of the three ever started: the third waits.
	time.Sleep(3 * ttl)
	if got := x.holders(); len(got) != 2 {
		t.Fatalf("starts = %v, want two", got)
	}
}

func TestGiveBackOnStop(t *testing.T) {
	kv := memkv.New()
	e := lease.New(kv, lease.Config{Holder: "a", TTL: time.Hour})
	started := make(chan struct{})
	stop := run(t, e, "job", func(ctx context.Context) { close(started); <-ctx.Done() })
	<-started
	stop()
	if h, err := e.Holder(t.Context(), "job"); !errors.Is(err, lease.ErrNotHeld) {
		t.Fatalf("after a clean stop Holder = %+v, %v; want ErrNotHeld", h, err)
	}
}

// silenced passes reads through and fails every write once cut.
type silenced struct {
	eventlog.KV
	cut atomic.Bool
}

var errCut = errors.New("engine unreachable")

func (s *silenced) Update(ctx context.Context, k string, v []byte, rev uint64) (uint64, error) {
	if s.cut.Load() {
		return 0, errCut
	}
	return s.KV.Update(ctx, k, v, rev)
}

func (s *silenced) Delete(ctx context.Context, k string, rev uint64) error {
	if s.cut.Load() {
		return errCut
	}
	return s.KV.Delete(ctx, k, rev)
}

// A holder that cannot reach the engine stops its job before another
// node, which sees the lease go unrenewed, starts it.
func TestTakeOverFromASilentHolder(t *testing.T) {
	kv := memkv.New()
	cutA := &silenced{KV: kv}
	x := &exclusive{t: t}
	run(t, lease.New(cutA, lease.Config{Holder: "a", TTL: ttl}), "job", x.job("a"))
	waitFor(t, "a to hold", func() bool { return len(x.holders()) == 1 })
	run(t, lease.New(kv, lease.Config{Holder: "b", TTL: ttl}), "job", x.job("b"))
	time.Sleep(3 * ttl)
	if got := x.holders(); len(got) != 1 {
		t.Fatalf("b started while a renews: %v", got)
	}
	cutA.cut.Store(true)
	waitFor(t, "b to take over", func() bool { return len(x.holders()) == 2 })
	if got := x.holders(); got[1] != "b" {
		t.Fatalf("starts = %v, want a then b", got)
	}
}

// A holder whose lease was taken (its renewal conflicts) stops its job.
func TestLostLeaseStopsTheJob(t *testing.T) {
	kv := memkv.New()
	e := lease.New(kv, lease.Config{Holder: "a", TTL: ttl})
	var stopped atomic.Bool
	started := make(chan struct{}, 10)
	run(t, e, "job", func(ctx context.Context) {
		started <- struct{}{}
		<-ctx.Done()
		stopped.Store(true)
	})
	<-started
	ent, err := kv.Get(t.Context(), "lease.job")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(t.Context(), "lease.job", []byte(`{"holder":"z"}`), ent.Revision); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to stop", stopped.Load)
	// a contends again and, once z's lease goes unrenewed, holds it.
	<-started
}

func TestJobThatReturnsIsStartedAgain(t *testing.T) {
	e := lease.New(memkv.New(), lease.Config{Holder: "a", TTL: ttl})
	var n atomic.Int32
	run(t, e, "job", func(ctx context.Context) { n.Add(1) })
	waitFor(t, "a second start", func() bool { return n.Load() >= 2 })
}

func TestRunOnTheEngine(t *testing.T) {
	l, err := eventlog.Open(t.Context(), eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	kv, err := l.KV(t.Context(), lease.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	x := &exclusive{t: t}
	stopA := run(t, lease.New(kv, lease.Config{Holder: "a", TTL: ttl}), "job", x.job("a"))
	waitFor(t, "a to hold", func() bool { return len(x.holders()) == 1 })
	run(t, lease.New(kv, lease.Config{Holder: "b", TTL: ttl}), "job", x.job("b"))
	stopA()
	waitFor(t, "b to take over", func() bool { return len(x.holders()) == 2 })
}

// A lease this process's holder id already names (an earlier Run ended
// while the engine stored its take) is taken again at once, not after a TTL.
func TestOwnLeaseIsTakenBackAtOnce(t *testing.T) {
	kv := memkv.New()
	if _, err := kv.Create(t.Context(), "lease.job", []byte(`{"holder":"a"}`)); err != nil {
		t.Fatal(err)
	}
	e := lease.New(kv, lease.Config{Holder: "a", TTL: time.Hour})
	started := make(chan struct{})
	run(t, e, "job", func(ctx context.Context) { close(started); <-ctx.Done() })
	select {
	case <-started:
	case <-time.After(20 * time.Second): // only a hang guard: a TTL here is an hour
		t.Fatal("the job did not start: its own lease was waited out")
	}
}
