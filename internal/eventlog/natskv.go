package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// KV returns the named bucket, creating it on first use. Buckets keep one
// revision per key: they hold current state, not history. Options apply
// when this process first opens the bucket (and update an existing
// bucket's configuration to match); later calls return the same handle.
func (l *Log) KV(ctx context.Context, bucket string, opts ...KVOption) (KV, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if kv, ok := l.kvs[bucket]; ok {
		return kv, nil
	}
	var o kvOptions
	for _, opt := range opts {
		opt(&o)
	}
	b, err := l.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   bucket,
		History:  1,
		Storage:  jetstream.FileStorage,
		Replicas: l.cfg.Replicas,
		TTL:      o.ttl,
	})
	if err != nil {
		return nil, fmt.Errorf("eventlog: kv bucket %s: %w", bucket, engineErr(err))
	}
	// A new replicated bucket answers only once it has a leader.
	err = waitReady(ctx, func(ctx context.Context) error {
		_, err := b.Get(ctx, "herald-probe")
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("eventlog: kv bucket %s: %w", bucket, err)
	}
	// The bucket's stream answers Revision: the last message under a subject.
	st, err := l.js.Stream(ctx, "KV_"+bucket)
	if err != nil {
		return nil, fmt.Errorf("eventlog: kv bucket %s: %w", bucket, engineErr(err))
	}
	kv := &natsKV{b: b, s: st, subjects: "$KV." + bucket + ".", nc: l.nc, replies: l.replies,
		ackPrefix: fmt.Appendf(nil, "{%q:%q,%q:", "stream", "KV_"+bucket, "seq"), sole: l.sole}
	l.kvs[bucket] = kv
	return kv, nil
}

type natsKV struct {
	b        jetstream.KeyValue
	s        jetstream.Stream
	subjects string // a key's subject is subjects + key
	// Update's own write (kvwrite.go): the connection, the Log's reply
	// subscription, how the stream's acknowledgement starts, and the
	// deadline of updates without one.
	nc        *nats.Conn
	replies   *replies
	ackPrefix []byte
	deadline  sharedDeadline
	// sole: no client writes to the bucket but this handle (see Log.sole);
	// marks then answer KnownRevision (kvknown.go).
	sole  bool
	marks revisionMarks
}

func (k *natsKV) Get(ctx context.Context, key string) (Entry, error) {
	if err := checkKeyLen(key); err != nil {
		return Entry{}, fmt.Errorf("eventlog: kv key of %d bytes: %w", len(key), ErrKeyNotFound)
	}
	e, err := k.b.Get(ctx, key)
	if err != nil {
		return Entry{}, kvErr(key, err)
	}
	return Entry{Key: e.Key(), Value: e.Value(), Revision: e.Revision()}, nil
}

func (k *natsKV) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := checkKeyLen(key); err != nil {
		return 0, err
	}
	rev, err := k.b.Create(ctx, key, value)
	if err != nil {
		return 0, kvErr(key, err)
	}
	k.wrote(key, rev)
	return rev, nil
}

func (k *natsKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := checkKeyLen(key); err != nil {
		return 0, err
	}
	rev, err := k.update(ctx, key, value, rev)
	if err == nil {
		k.wrote(key, rev)
	}
	return rev, err
}

func (k *natsKV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := checkKeyLen(key); err != nil {
		return 0, err
	}
	rev, err := k.b.Put(ctx, key, value)
	if err != nil {
		return 0, kvErr(key, err)
	}
	k.wrote(key, rev)
	return rev, nil
}

func (k *natsKV) Delete(ctx context.Context, key string, rev uint64) error {
	if err := checkKeyLen(key); err != nil {
		return err
	}
	at, err := k.purge(ctx, key, rev)
	if err == nil {
		k.wrote(key, at)
	}
	return err
}

// wrote records the revision of an acknowledged write for KnownRevision.
func (k *natsKV) wrote(key string, rev uint64) {
	if k.sole {
		k.marks.wrote(key, rev)
	}
}

func (k *natsKV) List(ctx context.Context, prefix string) ([]Entry, error) {
	pattern, err := kvPattern(prefix)
	if err != nil {
		return nil, err
	}
	w, err := k.b.Watch(ctx, pattern, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, kvErr(prefix, err)
	}
	defer w.Stop()
	var out []Entry
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("eventlog: kv list %s: %w", prefix, ErrUnavailable)
			}
			if e == nil {
				return out, nil
			}
			out = append(out, Entry{Key: e.Key(), Value: e.Value(), Revision: e.Revision()})
		case <-ctx.Done():
			return nil, fmt.Errorf("eventlog: kv list %s: %w", prefix, engineErr(ctx.Err()))
		}
	}
}

func (k *natsKV) Watch(ctx context.Context, prefix string, fn func(Entry)) error {
	pattern, err := kvPattern(prefix)
	if err != nil {
		return err
	}
	if k.sole {
		k.marks.watch(prefix) // before the watch subscribes: see revisionMarks
	}
	w, err := k.b.Watch(ctx, pattern)
	if err != nil {
		return kvErr(prefix, err)
	}
	defer w.Stop()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if e == nil {
				fn(Entry{})
				continue
			}
			ent := Entry{Key: e.Key(), Revision: e.Revision()}
			if e.Operation() == jetstream.KeyValuePut {
				ent.Value = e.Value()
				if ent.Value == nil {
					ent.Value = []byte{}
				}
			}
			fn(ent)
		case <-ctx.Done():
			return nil
		}
	}
}

func (k *natsKV) Revision(ctx context.Context, prefix string) (uint64, error) {
	pattern, err := kvPattern(prefix)
	if err != nil {
		return 0, err
	}
	// One direct get of the last message under the prefix's subjects (the
	// engine takes a wildcard there); a purge's marker is a message too.
	m, err := k.s.GetLastMsgForSubject(ctx, k.subjects+pattern)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("eventlog: kv revision %s: %w", prefix, engineErr(err))
	}
	return m.Sequence, nil
}

func kvPattern(prefix string) (string, error) {
	if err := checkKeyLen(prefix); err != nil {
		return "", err
	}
	switch {
	case prefix == "":
		return ">", nil
	case strings.HasSuffix(prefix, "."):
		return prefix + ">", nil
	}
	return "", fmt.Errorf("eventlog: kv prefix %q must be empty or end with '.'", prefix)
}

// checkKeyLen refuses a key before it reaches the engine, which would
// close the connection for good (see MaxKeyLen).
func checkKeyLen(key string) error {
	if len(key) > MaxKeyLen {
		return fmt.Errorf("eventlog: kv key of %d bytes, at most %d: %w", len(key), MaxKeyLen, ErrInvalidKey)
	}
	return nil
}

func kvErr(key string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return fmt.Errorf("eventlog: kv %s: %w", key, ErrKeyNotFound)
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return fmt.Errorf("eventlog: kv %s: %w", key, ErrConflict)
	case errors.Is(err, jetstream.ErrInvalidKey):
		return fmt.Errorf("eventlog: kv %q: %w", key, ErrInvalidKey)
	}
	// A replicated stream reports a conflict in a code of its own (10164).
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return fmt.Errorf("eventlog: kv %s: %w", key, ErrConflict)
	}
	return fmt.Errorf("eventlog: kv %s: %w", key, engineErr(err))
}
