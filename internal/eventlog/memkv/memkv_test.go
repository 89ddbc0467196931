package memkv_test

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/eventlog/kvtest"
	"github.com/herald-io/herald/internal/eventlog/memkv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The twin meets the contract the NATS KV meets.
func TestContract(t *testing.T) {
	kvtest.Run(t, func(*testing.T) eventlog.KV { return memkv.New() })
	kvtest.RunTTL(t, func(_ *testing.T, ttl time.Duration) eventlog.KV { return memkv.New(memkv.TTL(ttl)) })
	kvtest.RunKnownRevision(t, func(*testing.T) kvtest.KnownRevisions { return memkv.New() })
}

// With a Clock, keys expire when the clock says so, not when time passes.
func TestClock(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	kv := memkv.New(memkv.TTL(time.Minute), memkv.Clock(func() time.Time { return now }))
	if _, err := kv.Put(ctx, "a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute - time.Nanosecond)
	if _, err := kv.Put(ctx, "b", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Get(ctx, "a"); err != nil {
		t.Fatalf("Get before the TTL ran out: %v", err)
	}
	now = now.Add(time.Nanosecond)
	if _, err := kv.Get(ctx, "a"); !errors.Is(err, eventlog.ErrKeyNotFound) {
		t.Fatalf("Get once the TTL ran out: %v, want ErrKeyNotFound", err)
	}
	if ents, err := kv.List(ctx, ""); err != nil || len(ents) != 1 || ents[0].Key != "b" {
		t.Fatalf("List = %v, %v; want only b", ents, err)
	}
}
