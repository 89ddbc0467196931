// Package memkv is an in-memory eventlog.KV with the NATS KV's semantics,
// for tests that need state but not an engine. The kvtest contract runs
// against both, so what a test learns from this twin holds on NATS:
//
//   - revisions increase across the bucket and every write (a deletion
//     too) takes the next one;
//   - a key's revision is that of its last write, a deletion's included,
//     and 0 when nothing was ever written or its last write expired;
//     Update and Delete at rev compare against it, so Update at 0 creates
//     an absent key, as the engine's Create does;
//   - a deleted key is absent to Get and List, but Watch replays its
//     deletion;
//   - with a TTL a key (or its deletion) expires ttl after its last write,
//     silently: no watch hears of it;
//   - keys and prefixes are checked as the engine checks them, except that
//     a prefix is literal ('*' and '>' are refused, not wildcards).
package memkv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

var _ eventlog.KV = (*KV)(nil)

// KV is one bucket. The zero value is not usable; call New.
//
// Ownership: mu guards the keys, the revision counter and the set of
// watchers. A write updates its key and queues the change on every
// matching watcher under mu (lock order: KV.mu, then watcher.mu); only the
// watcher's own Watch call drains its queue and calls fn, holding no lock,
// so a slow fn delays nobody else.
type KV struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	rev      uint64
	keys     map[string]*write
	watchers map[*watcher]struct{}
}

// write is a key's last write: a value, or a deletion (nil value).
type write struct {
	rev   uint64
	value []byte
	at    time.Time
}

// Option configures a bucket made by New.
type Option func(*KV)

// TTL makes a key expire ttl after its last write, as eventlog.KVTTL does
// on the engine. Zero keeps keys until deleted.
func TTL(ttl time.Duration) Option { return func(kv *KV) { kv.ttl = ttl } }

// Clock sets the time source expiry is measured with (time.Now by
// default), so a test can expire keys without waiting.
func Clock(now func() time.Time) Option { return func(kv *KV) { kv.now = now } }

// New returns an empty bucket.
func New(opts ...Option) *KV {
	kv := &KV{now: time.Now, keys: map[string]*write{}, watchers: map[*watcher]struct{}{}}
	for _, o := range opts {
		o(kv)
	}
	return kv
}

func (kv *KV) Get(ctx context.Context, key string) (eventlog.Entry, error) {
	if len(key) > eventlog.MaxKeyLen && ctx.Err() == nil {
		return eventlog.Entry{}, fmt.Errorf("memkv: key of %d bytes: %w", len(key), eventlog.ErrKeyNotFound)
	}
	if err := check(ctx, key); err != nil {
		return eventlog.Entry{}, err
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	w := kv.lastLocked(key)
	if w == nil || w.value == nil {
		return eventlog.Entry{}, fmt.Errorf("memkv: %s: %w", key, eventlog.ErrKeyNotFound)
	}
	return w.entry(key), nil
}

func (kv *KV) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := check(ctx, key); err != nil {
		return 0, err
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if w := kv.lastLocked(key); w != nil && w.value != nil {
		return 0, fmt.Errorf("memkv: %s exists: %w", key, eventlog.ErrConflict)
	}
	return kv.writeLocked(key, nonNil(value)), nil
}

func (kv *KV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := check(ctx, key); err != nil {
		return 0, err
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if err := kv.compareLocked(key, rev); err != nil {
		return 0, err
	}
	return kv.writeLocked(key, nonNil(value)), nil
}

func (kv *KV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := check(ctx, key); err != nil {
		return 0, err
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.writeLocked(key, nonNil(value)), nil
}

// Delete writes a deletion, as the engine's purge writes its marker: even
// for a key that holds nothing.
func (kv *KV) Delete(ctx context.Context, key string, rev uint64) error {
	if err := check(ctx, key); err != nil {
		return err
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if rev > 0 {
		if err := kv.compareLocked(key, rev); err != nil {
			return err
		}
	}
	kv.writeLocked(key, nil)
	return nil
}

func (kv *KV) List(ctx context.Context, prefix string) ([]eventlog.Entry, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memkv: list %s: %w", prefix, err)
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.snapshotLocked(prefix, false), nil
}

// Revision returns the highest revision of a held write under prefix,
// deletions included.
func (kv *KV) Revision(ctx context.Context, prefix string) (uint64, error) {
	if err := checkPrefix(prefix); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memkv: revision %s: %w", prefix, err)
	}
	kv.mu.Lock()
	defer kv.mu.Unlock()
	var rev uint64
	for k, w := range kv.keys {
		if kv.expired(w) {
			delete(kv.keys, k)
			continue
		}
		if strings.HasPrefix(k, prefix) {
			rev = max(rev, w.rev)
		}
	}
	return rev, nil
}

// KnownRevision is Revision without a context: a bucket in memory is its
// only writer, and always knows.
func (kv *KV) KnownRevision(prefix string) (uint64, bool) {
	rev, err := kv.Revision(context.Background(), prefix)
	return rev, err == nil
}

// lastLocked returns key's last write, nil if there is none or it expired.
func (kv *KV) lastLocked(key string) *write {
	w := kv.keys[key]
	if w != nil && kv.expired(w) {
		delete(kv.keys, key)
		return nil
	}
	return w
}

func (kv *KV) expired(w *write) bool {
	return kv.ttl > 0 && kv.now().Sub(w.at) >= kv.ttl
}

func (kv *KV) compareLocked(key string, rev uint64) error {
	var cur uint64
	if w := kv.lastLocked(key); w != nil {
		cur = w.rev
	}
	if rev != cur {
		return fmt.Errorf("memkv: %s is at revision %d, not %d: %w", key, cur, rev, eventlog.ErrConflict)
	}
	return nil
}

// writeLocked stores a copy of value (nil: a deletion) at the next
// revision and queues the change for the watchers of its key.
func (kv *KV) writeLocked(key string, value []byte) uint64 {
	kv.rev++
	w := &write{rev: kv.rev, value: clone(value), at: kv.now()}
	kv.keys[key] = w
	for wt := range kv.watchers {
		if strings.HasPrefix(key, wt.prefix) {
			wt.push(w.entry(key))
		}
	}
	return kv.rev
}

// snapshotLocked returns the last write of every key under prefix in
// revision order; deletions only if withDeleted.
func (kv *KV) snapshotLocked(prefix string, withDeleted bool) []eventlog.Entry {
	var out []eventlog.Entry
	for k, w := range kv.keys {
		if kv.expired(w) {
			delete(kv.keys, k)
			continue
		}
		if strings.HasPrefix(k, prefix) && (withDeleted || w.value != nil) {
			out = append(out, w.entry(k))
		}
	}
	slices.SortFunc(out, func(a, b eventlog.Entry) int {
		switch {
		case a.Revision < b.Revision:
			return -1
		case a.Revision > b.Revision:
			return 1
		}
		return 0
	})
	return out
}

// entry returns w as an Entry with its own copy of the value.
func (w *write) entry(key string) eventlog.Entry {
	return eventlog.Entry{Key: key, Value: clone(w.value), Revision: w.rev}
}

// clone copies v, keeping nil (a deletion) apart from empty (a value).
func clone(v []byte) []byte {
	if v == nil {
		return nil
	}
	return append([]byte{}, v...)
}

func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}
