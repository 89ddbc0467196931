package kvtest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// hang bounds every wait for the bucket, so a broken implementation fails
// instead of hanging the suite; nothing here measures speed.
const hang = 20 * time.Second

func put(t *testing.T, kv eventlog.KV, key, value string) uint64 {
	t.Helper()
	rev, err := kv.Put(t.Context(), key, []byte(value))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return rev
}

func create(t *testing.T, kv eventlog.KV, key, value string) uint64 {
	t.Helper()
	rev, err := kv.Create(t.Context(), key, []byte(value))
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	return rev
}

func get(t *testing.T, kv eventlog.KV, key string) eventlog.Entry {
	t.Helper()
	e, err := kv.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return e
}

func wantGet(t *testing.T, kv eventlog.KV, key, value string, rev uint64) {
	t.Helper()
	if e := get(t, kv, key); e.Key != key || string(e.Value) != value || e.Revision != rev {
		t.Fatalf("Get(%q) = %s, want %s", key, show(e), show(eventlog.Entry{Key: key, Value: []byte(value), Revision: rev}))
	}
}

// wantList checks List(prefix) returns want, in that order.
func wantList(t *testing.T, kv eventlog.KV, prefix string, want ...eventlog.Entry) {
	t.Helper()
	got, err := kv.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	if !sameEntries(got, want) {
		t.Fatalf("List(%q) = %s, want %s", prefix, showAll(got), showAll(want))
	}
}

func sameEntries(a, b []eventlog.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !bytes.Equal(a[i].Value, b[i].Value) || a[i].Revision != b[i].Revision {
			return false
		}
	}
	return true
}

func show(e eventlog.Entry) string {
	if e.Value == nil {
		return fmt.Sprintf("{%q <nil> @%d}", e.Key, e.Revision)
	}
	return fmt.Sprintf("{%q %q @%d}", e.Key, e.Value, e.Revision)
}

func showAll(es []eventlog.Entry) string {
	s := "["
	for i, e := range es {
		if i > 0 {
			s += " "
		}
		s += show(e)
	}
	return s + "]"
}

func drain[T any](ch <-chan T) []T {
	var out []T
	for v := range ch {
		out = append(out, v)
	}
	return out
}

// watcher runs one Watch and hands its entries to the test in order.
type watcher struct {
	t        *testing.T
	entries  chan eventlog.Entry
	cancel   context.CancelFunc
	done     chan error
	returned atomic.Bool
	stopOnce sync.Once
	stopErr  error
}

// watch starts a Watch of prefix that ends with the test.
func watch(t *testing.T, kv eventlog.KV, prefix string) *watcher {
	return watchFn(t, kv, prefix, nil)
}

// watchFn is watch with before called ahead of handing over each entry,
// in the watch's own goroutine.
func watchFn(t *testing.T, kv eventlog.KV, prefix string, before func(eventlog.Entry)) *watcher {
	ctx, cancel := context.WithCancel(t.Context())
	w := &watcher{t: t, entries: make(chan eventlog.Entry, 1024), cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := kv.Watch(ctx, prefix, func(e eventlog.Entry) {
			if w.returned.Load() {
				t.Errorf("Watch(%q) called fn after it returned: %s", prefix, show(e))
			}
			if before != nil {
				before(e)
			}
			select {
			case w.entries <- e:
			case <-ctx.Done():
			}
		})
		w.returned.Store(true)
		w.done <- err
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

func (w *watcher) next() eventlog.Entry {
	w.t.Helper()
	select {
	case e := <-w.entries:
		return e
	case err := <-w.done:
		w.done <- err // for stop
		w.t.Fatalf("Watch returned before the next entry: %v", err)
	case <-time.After(hang):
		w.t.Fatal("Watch delivered nothing")
	}
	return eventlog.Entry{}
}

// want checks the next entry is key at rev with value (nil: a deletion).
func (w *watcher) want(key string, value []byte, rev uint64) {
	w.t.Helper()
	e := w.next()
	if e.Key != key || !bytes.Equal(e.Value, value) || (e.Value == nil) != (value == nil) || e.Revision != rev {
		w.t.Fatalf("watched %s, want %s", show(e), show(eventlog.Entry{Key: key, Value: value, Revision: rev}))
	}
}

// wantDeletion checks the next entry deletes key, written after rev.
func (w *watcher) wantDeletion(key string, after uint64) uint64 {
	w.t.Helper()
	e := w.next()
	if e.Key != key || e.Value != nil || e.Revision <= after {
		w.t.Fatalf("watched %s, want the deletion of %q after revision %d", show(e), key, after)
	}
	return e.Revision
}

func (w *watcher) wantMarker() {
	w.t.Helper()
	if e := w.next(); e.Key != "" || e.Value != nil || e.Revision != 0 {
		w.t.Fatalf("watched %s, want the end-of-replay marker (a zero Entry)", show(e))
	}
}

// stop ends the watch and checks Watch returned nil.
func (w *watcher) stop() {
	w.stopOnce.Do(func() {
		w.cancel()
		select {
		case w.stopErr = <-w.done:
		case <-time.After(hang):
			w.stopErr = fmt.Errorf("Watch did not return after its context ended")
		}
		if w.stopErr != nil {
			w.t.Errorf("Watch: %v", w.stopErr)
		}
	})
}
