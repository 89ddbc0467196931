package lease_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/eventlog/memkv"
	"github.com/herald-io/herald/internal/lease"
)

// jobs records which definitions run where, with which value.
type jobs struct {
	mu      sync.Mutex
	running map[string]string // definition name → value
	holder  map[string]string // definition name → node
	t       *testing.T
}

func (j *jobs) job(node string) lease.Job {
	return func(ctx context.Context, def eventlog.Entry) {
		j.mu.Lock()
		if other, ok := j.holder[def.Key]; ok {
			j.t.Errorf("%s runs on %s and %s", def.Key, other, node)
		}
		j.running[def.Key], j.holder[def.Key] = string(def.Value), node
		j.mu.Unlock()
		<-ctx.Done()
		j.mu.Lock()
		delete(j.running, def.Key)
		delete(j.holder, def.Key)
		j.mu.Unlock()
	}
}

func (j *jobs) snapshot() map[string]string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := map[string]string{}
	for k, v := range j.running {
		out[k] = v
	}
	return out
}

func supervise(t *testing.T, e *lease.Elector, defs eventlog.KV, job lease.Job) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.Supervise(ctx, defs, "def.", "test.", job) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Supervise returned %v", err)
		}
	})
}

func same(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestSuperviseRunsEachDefinitionOnce(t *testing.T) {
	defs, leases := memkv.New(), memkv.New()
	j := &jobs{running: map[string]string{}, holder: map[string]string{}, t: t}
	ctx := t.Context()
	if _, err := defs.Put(ctx, "def.a", []byte("a1")); err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"n1", "n2"} {
		supervise(t, lease.New(leases, lease.Config{Holder: node, TTL: ttl}), defs, j.job(node))
	}
	if _, err := defs.Put(ctx, "def.b", []byte("b1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a and b", func() bool { return same(j.snapshot(), map[string]string{"def.a": "a1", "def.b": "b1"}) })

	if _, err := defs.Put(ctx, "def.a", []byte("a2")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a restarted with its new value", func() bool {
		return same(j.snapshot(), map[string]string{"def.a": "a2", "def.b": "b1"})
	})
	if err := defs.Delete(ctx, "def.b", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b stopped", func() bool { return same(j.snapshot(), map[string]string{"def.a": "a2"}) })
	// A deleted definition gives its lease back.
	probe := lease.New(leases, lease.Config{Holder: "probe"})
	if _, err := probe.Holder(ctx, "test.b"); !errors.Is(err, lease.ErrNotHeld) {
		t.Fatalf("lease of a deleted definition: %v, want ErrNotHeld", err)
	}
}
