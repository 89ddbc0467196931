package eventlog_test

import (
	"context"
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
