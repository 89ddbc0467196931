package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/eventlog/kvtest"
)

// The NATS KV meets the contract its in-memory twin (memkv) is held to.
func TestKVContract(t *testing.T) {
	open := openBuckets(t)
	kvtest.Run(t, func(t *testing.T) eventlog.KV { return open(t) })
	kvtest.RunTTL(t, func(t *testing.T, ttl time.Duration) eventlog.KV { return open(t, eventlog.KVTTL(ttl)) })
	kvtest.RunKnownRevision(t, func(t *testing.T) kvtest.KnownRevisions { return open(t).(kvtest.KnownRevisions) })
}

// KnownRevision knows only where nothing else writes to the bucket, and
// only prefixes a watch began on.
func TestKnownRevisionOnlySoleWriter(t *testing.T) {
	ctx := t.Context()
	l, err := eventlog.Open(ctx, eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	kv, err := l.KV(ctx, "sole")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := kv.(kvtest.KnownRevisions).KnownRevision("q."); ok {
		t.Error("KnownRevision of a prefix no watch began on: known")
	}
	listening, err := eventlog.Open(ctx, eventlog.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer listening.Close()
	kv, err = listening.KV(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- kv.Watch(wctx, "q.", func(eventlog.Entry) {}) }()
	if _, err := kv.Put(ctx, "q.a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, ok := kv.(kvtest.KnownRevisions).KnownRevision("q."); ok {
		t.Error("KnownRevision with a client port open: known")
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// openBuckets opens one embedded log for the test and returns a function
// that opens a new bucket in it on each call.
func openBuckets(t *testing.T) func(t *testing.T, opts ...eventlog.KVOption) eventlog.KV {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	l, err := eventlog.Open(ctx, eventlog.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	n := 0
	return func(t *testing.T, opts ...eventlog.KVOption) eventlog.KV {
		n++
		kv, err := l.KV(t.Context(), fmt.Sprintf("contract-%d", n), opts...)
		if err != nil {
			t.Fatal(err)
		}
		return kv
	}
}
