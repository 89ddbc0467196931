package memkv

import (
	"context"
	"sync"

	"github.com/herald-io/herald/internal/eventlog"
)

// watcher is one Watch call's queue of changes not yet handed to its fn.
type watcher struct {
	prefix string
	wake   chan struct{} // one token: the queue may be non-empty

	mu    sync.Mutex
	queue []eventlog.Entry
}

// push queues e; writers never wait for the watcher.
func (w *watcher) push(e eventlog.Entry) {
	w.mu.Lock()
	w.queue = append(w.queue, e)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher) take() []eventlog.Entry {
	w.mu.Lock()
	defer w.mu.Unlock()
	q := w.queue
	w.queue = nil
	return q
}

// Watch replays the last write of every key under prefix, deletions
// included, then the zero Entry, then every change, until ctx ends.
func (kv *KV) Watch(ctx context.Context, prefix string, fn func(eventlog.Entry)) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	w := &watcher{prefix: prefix, wake: make(chan struct{}, 1)}
	kv.mu.Lock()
	// The replay and the registration share one lock: no write falls between.
	w.queue = append(kv.snapshotLocked(prefix, true), eventlog.Entry{})
	w.wake <- struct{}{}
	kv.watchers[w] = struct{}{}
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
		case <-w.wake:
		}
		for _, e := range w.take() {
			if ctx.Err() != nil {
				return nil
			}
			fn(e)
		}
	}
}
