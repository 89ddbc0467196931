package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// memKV is an in-memory eventlog.KV with the engine's semantics: revisions
// increase across the bucket, Create/Update/Delete compare and set, and
// Watch replays existing entries, marks the end of the replay with an empty
// entry (as the NATS implementation does) and then streams changes.
type memKV struct {
	mu       sync.Mutex
	rev      uint64
	data     map[string]eventlog.Entry
	watchers map[*memWatcher]struct{}
	written  [][]byte // every value ever stored, to scan for secrets
	fail     error    // when set, every operation fails with it
	noWatch  error    // when set, Watch fails with it
	// gate, when set before Watch is called, lets a watch deliver one
	// entry per value received, so tests can stop between two entries.
	gate      chan struct{}
	delivered atomic.Int64
	// afterGet, when set, runs once inside the next Get, after the value
	// is read and before it is returned.
	afterGet func()
}

type memWatcher struct {
	prefix string
	mu     sync.Mutex
	queue  []eventlog.Entry
	wake   chan struct{}
	broken chan error
}

func newMemKV() *memKV {
	return &memKV{data: map[string]eventlog.Entry{}, watchers: map[*memWatcher]struct{}{}}
}

var _ eventlog.KV = (*memKV)(nil)

func (kv *memKV) Get(_ context.Context, key string) (eventlog.Entry, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.fail != nil {
		return eventlog.Entry{}, kv.fail
	}
	e, ok := kv.data[key]
	if hook := kv.afterGet; hook != nil {
		kv.afterGet = nil
		kv.mu.Unlock()
		hook()
		kv.mu.Lock()
	}
	if !ok {
		return eventlog.Entry{}, fmt.Errorf("kv %s: %w", key, eventlog.ErrKeyNotFound)
	}
	return e, nil
}

func (kv *memKV) Create(_ context.Context, key string, value []byte) (uint64, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.fail != nil {
		return 0, kv.fail
	}
	if _, ok := kv.data[key]; ok {
		return 0, fmt.Errorf("kv %s: %w", key, eventlog.ErrConflict)
	}
	return kv.storeLocked(key, value), nil
}

func (kv *memKV) Update(_ context.Context, key string, value []byte, rev uint64) (uint64, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.fail != nil {
		return 0, kv.fail
	}
	if e, ok := kv.data[key]; !ok || e.Revision != rev {
		return 0, fmt.Errorf("kv %s: %w", key, eventlog.ErrConflict)
	}
	return kv.storeLocked(key, value), nil
}

func (kv *memKV) Put(_ context.Context, key string, value []byte) (uint64, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.fail != nil {
		return 0, kv.fail
	}
	return kv.storeLocked(key, value), nil
}

func (kv *memKV) Delete(_ context.Context, key string, rev uint64) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.fail != nil {
		return kv.fail
	}
	e, ok := kv.data[key]
	if rev > 0 && (!ok || e.Revision != rev) {
		return fmt.Errorf("kv %s: %w", key, eventlog.ErrConflict)
	}
	if !ok {
		return nil
	}
	delete(kv.data, key)
	kv.rev++
	kv.notifyLocked(eventlog.Entry{Key: key, Revision: kv.rev})
	return nil
}

func (kv *memKV) List(_ context.Context, prefix string) ([]eventlog.Entry, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.fail != nil {
		return nil, kv.fail
	}
	return kv.listLocked(prefix), nil
}

func (kv *memKV) Watch(ctx context.Context, prefix string, fn func(eventlog.Entry)) error {
	kv.mu.Lock()
	if err := errors.Join(kv.fail, kv.noWatch); err != nil {
		kv.mu.Unlock()
		return err
	}
	w := &memWatcher{prefix: prefix, wake: make(chan struct{}, 1), broken: make(chan error, 1)}
	// Snapshot and registration under one lock: no change can fall between.
	w.queue = append(kv.listLocked(prefix), eventlog.Entry{})
	w.wake <- struct{}{}
	kv.watchers[w] = struct{}{}
	gate := kv.gate
	kv.mu.Unlock()
	defer func() {
		kv.mu.Lock()
		delete(kv.watchers, w)
		kv.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.broken:
			return err
		case <-w.wake:
		}
		w.mu.Lock()
		q := w.queue
		w.queue = nil
		w.mu.Unlock()
		for _, e := range q {
			if gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
					return nil
				case err := <-w.broken:
					return err
				}
			}
			fn(e)
			kv.delivered.Add(1)
		}
	}
}

// breakWatches ends every running Watch with err, as a lost connection would.
func (kv *memKV) breakWatches(err error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	for w := range kv.watchers {
		select {
		case w.broken <- err:
		default:
		}
	}
}

func (kv *memKV) watching() int {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return len(kv.watchers)
}

func (kv *memKV) setFail(err error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.fail = err
}

func (kv *memKV) setNoWatch(err error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	kv.noWatch = err
}

func (kv *memKV) allWritten() [][]byte {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return slices.Clone(kv.written)
}

func (kv *memKV) storeLocked(key string, value []byte) uint64 {
	kv.rev++
	v := slices.Clone(value)
	if v == nil {
		v = []byte{}
	}
	e := eventlog.Entry{Key: key, Value: v, Revision: kv.rev}
	kv.data[key] = e
	kv.written = append(kv.written, v)
	kv.notifyLocked(e)
	return kv.rev
}

func (kv *memKV) listLocked(prefix string) []eventlog.Entry {
	var out []eventlog.Entry
	for k, e := range kv.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b eventlog.Entry) int { return int(a.Revision) - int(b.Revision) })
	return out
}

func (kv *memKV) notifyLocked(e eventlog.Entry) {
	for w := range kv.watchers {
		if !strings.HasPrefix(e.Key, w.prefix) {
			continue
		}
		w.mu.Lock()
		w.queue = append(w.queue, e)
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// TestMemKV checks the fake itself, since the service tests lean on it.
func TestMemKV(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	r1, err := kv.Create(ctx, "a.x", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "a.x", []byte("2")); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("second Create: %v, want ErrConflict", err)
	}
	if _, err := kv.Update(ctx, "a.x", []byte("2"), r1+7); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("Update with stale rev: %v, want ErrConflict", err)
	}
	r2, err := kv.Update(ctx, "a.x", []byte("2"), r1)
	if err != nil || r2 <= r1 {
		t.Fatalf("Update: rev %d, %v", r2, err)
	}
	if err := kv.Delete(ctx, "a.x", r1); !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("Delete with stale rev: %v, want ErrConflict", err)
	}

	got := make(chan eventlog.Entry, 16)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- kv.Watch(wctx, "a.", func(e eventlog.Entry) { got <- e }) }()
	next := func() eventlog.Entry {
		t.Helper()
		select {
		case e := <-got:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("watch delivered nothing")
			return eventlog.Entry{}
		}
	}
	if e := next(); e.Key != "a.x" || string(e.Value) != "2" {
		t.Fatalf("first watched entry %+v, want existing a.x=2", e)
	}
	if e := next(); e.Key != "" {
		t.Fatalf("want end-of-replay marker, got %+v", e)
	}
	if _, err := kv.Put(ctx, "b.y", []byte("other prefix")); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "a.x", r2); err != nil {
		t.Fatal(err)
	}
	if e := next(); e.Key != "a.x" || e.Value != nil {
		t.Fatalf("want deletion of a.x, got %+v", e)
	}
	if _, err := kv.Get(ctx, "a.x"); !errors.Is(err, eventlog.ErrKeyNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
