package eventlog

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A bucket opened with KVTTL drops a key nobody rewrote, and keeps one
// that is rewritten within the TTL.
func TestKVTTL(t *testing.T) {
	l := openTest(t, Config{})
	ctx := context.Background()
	kv, err := l.KV(ctx, "ttl", KVTTL(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"gone", "kept"} {
		if _, err := kv.Put(ctx, key, []byte(key)); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := kv.Put(ctx, "kept", []byte("kept")); err != nil {
			t.Fatal(err)
		}
		_, err := kv.Get(ctx, "gone")
		if errors.Is(err, ErrKeyNotFound) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("Get of an expired key: %v", err)
		}
	}
	ents, err := kv.List(ctx, "")
	if err != nil || len(ents) != 1 || ents[0].Key != "kept" {
		t.Fatalf("List after expiry = %v, %v", ents, err)
	}
}
