package auth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/eventlog/kvtest"
	"github.com/herald-io/herald/internal/eventlog/memkv"
)

// memKV is the engine's in-memory twin (memkv) with the faults and
// pauses the service tests steer: a failing engine, a lost watch, a watch
// that delivers one entry at a time, a pause inside a Get.
type memKV struct {
	*memkv.KV

	mu       sync.Mutex
	fail     error // when set, every operation fails with it
	noWatch  error // when set, Watch fails with it
	watchers map[chan error]struct{}
	written  [][]byte // every value ever stored, to scan for secrets
	// afterGet, when set, runs once inside the next Get, after the value
	// is read and before it is returned.
	afterGet func()

	// gate, when set before Watch is called, lets a watch deliver one
	// entry per value received, so tests can stop between two entries.
	gate      chan struct{}
	delivered atomic.Int64
}

func newMemKV() *memKV {
	return &memKV{KV: memkv.New(), watchers: map[chan error]struct{}{}}
}

var _ eventlog.KV = (*memKV)(nil)

func (kv *memKV) failure() error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.fail
}

func (kv *memKV) Get(ctx context.Context, key string) (eventlog.Entry, error) {
	if err := kv.failure(); err != nil {
		return eventlog.Entry{}, err
	}
	e, err := kv.KV.Get(ctx, key)
	kv.mu.Lock()
	hook := kv.afterGet
	kv.afterGet = nil
	kv.mu.Unlock()
	if hook != nil {
		hook()
	}
	return e, err
}

func (kv *memKV) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := kv.failure(); err != nil {
		return 0, err
	}
	return kv.wrote(value)(kv.KV.Create(ctx, key, value))
}

func (kv *memKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := kv.failure(); err != nil {
		return 0, err
	}
	return kv.wrote(value)(kv.KV.Update(ctx, key, value, rev))
}

func (kv *memKV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := kv.failure(); err != nil {
		return 0, err
	}
	return kv.wrote(value)(kv.KV.Put(ctx, key, value))
}

// wrote records value once the write that stored it succeeded.
func (kv *memKV) wrote(value []byte) func(uint64, error) (uint64, error) {
	return func(rev uint64, err error) (uint64, error) {
		if err == nil {
			kv.mu.Lock()
			kv.written = append(kv.written, slices.Clone(value))
			kv.mu.Unlock()
		}
		return rev, err
	}
}

func (kv *memKV) Delete(ctx context.Context, key string, rev uint64) error {
	if err := kv.failure(); err != nil {
		return err
	}
	return kv.KV.Delete(ctx, key, rev)
}

func (kv *memKV) List(ctx context.Context, prefix string) ([]eventlog.Entry, error) {
	if err := kv.failure(); err != nil {
		return nil, err
	}
	return kv.KV.List(ctx, prefix)
}

func (kv *memKV) Watch(ctx context.Context, prefix string, fn func(eventlog.Entry)) error {
	kv.mu.Lock()
	if err := errors.Join(kv.fail, kv.noWatch); err != nil {
		kv.mu.Unlock()
		return err
	}
	broken := make(chan error, 1)
	kv.watchers[broken] = struct{}{}
	gate := kv.gate
	kv.mu.Unlock()
	defer func() {
		kv.mu.Lock()
		delete(kv.watchers, broken)
		kv.mu.Unlock()
	}()
	// A broken watch ends the twin's with its cause; the gate is waited
	// for in fn, which the twin calls from this goroutine.
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case err := <-broken:
			cancel(err)
		case <-wctx.Done():
		}
	}()
	err := kv.KV.Watch(wctx, prefix, func(e eventlog.Entry) {
		if gate != nil {
			select {
			case <-gate:
			case <-wctx.Done():
				return
			}
		}
		if wctx.Err() != nil {
			return
		}
		fn(e)
		kv.delivered.Add(1)
	})
	if err == nil && ctx.Err() == nil {
		err = context.Cause(wctx)
	}
	return err
}

// breakWatches ends every running Watch with err, as a lost connection would.
func (kv *memKV) breakWatches(err error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	for broken := range kv.watchers {
		select {
		case broken <- err:
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

// The faults change nothing until set: the service tests' bucket meets
// the engine's contract.
func TestMemKV(t *testing.T) {
	kvtest.Run(t, func(*testing.T) eventlog.KV { return newMemKV() })
}
