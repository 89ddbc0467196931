package eventlog

import (
	"context"
	"errors"
	"time"
)

// KV errors callers branch on.
var (
	ErrKeyNotFound = errors.New("key not found")
	// ErrConflict means a compare-and-set lost: the entry changed (or exists) since it was read.
	ErrConflict = errors.New("revision conflict")
	// ErrInvalidKey means a key (or prefix) the bucket cannot hold.
	ErrInvalidKey = errors.New("invalid key")
)

// MaxKeyLen is the longest key a bucket holds, in bytes. The engine closes
// a connection whose protocol line (which carries the key's subject) is
// over 4 KiB, and the client does not reconnect after that, so a longer
// key must never reach it.
const MaxKeyLen = 1024

// Entry is a value stored in a KV bucket with the revision that wrote it.
type Entry struct {
	Key      string
	Value    []byte
	Revision uint64
}

// KV is a bucket of state with compare-and-set, shared by every herald node.
// Keys are dot-separated tokens of letters, digits and "-_=", at most
// MaxKeyLen bytes; a longer key is absent to Get and ErrInvalidKey to the
// other methods. A write keeps its own copy of the value: the caller may
// reuse it once the call returned.
type KV interface {
	// Get returns ErrKeyNotFound when the key is absent or deleted.
	Get(ctx context.Context, key string) (Entry, error)
	// Create stores value only if key is absent; ErrConflict otherwise.
	Create(ctx context.Context, key string, value []byte) (uint64, error)
	// Update stores value only if the key's revision is still rev; ErrConflict otherwise.
	// A key that holds nothing is at revision 0 (a deleted one at its deletion's).
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
	// Put stores value unconditionally.
	Put(ctx context.Context, key string, value []byte) (uint64, error)
	// Delete removes key; with rev > 0 only if its revision is still rev.
	// The deletion is a write (watches see it), even of an absent key.
	Delete(ctx context.Context, key string, rev uint64) error
	// List returns every live entry whose key starts with prefix. A prefix is
	// empty (all keys) or ends with "." (a subtree: "key." lists "key.a.b").
	List(ctx context.Context, prefix string) ([]Entry, error)
	// Watch calls fn for each change to a key starting with prefix (a deleted
	// key has a nil Value) until ctx ends. Existing entries are sent first
	// (deletions too), then one Entry with an empty Key marks that the
	// initial values are done.
	Watch(ctx context.Context, prefix string, fn func(Entry)) error
	// Revision returns the revision of the last write to a key starting
	// with prefix that the bucket still holds, a deletion's included; 0 if
	// there is none. A Watch of prefix delivers that write, or a later one,
	// so a watcher that has seen Revision has seen every write to prefix
	// acknowledged before the call (with a TTL, that write may expire
	// before the watch delivers it).
	Revision(ctx context.Context, prefix string) (uint64, error)
}

// KVOption configures a bucket when KV opens it.
type KVOption func(*kvOptions)

type kvOptions struct {
	ttl time.Duration
}

// KVTTL makes a key expire ttl after it was last written (the bucket's
// maximum age): for registries of live things whose owners rewrite their
// entries periodically, so that an owner that died without deleting its
// entry does not leave it behind for ever. Zero keeps keys until deleted.
func KVTTL(ttl time.Duration) KVOption {
	return func(o *kvOptions) { o.ttl = ttl }
}
