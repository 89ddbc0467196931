package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// readCounter counts the engine reads made on a bucket.
type readCounter struct {
	eventlog.KV
	gets atomic.Int64
}

func (k *readCounter) Get(ctx context.Context, key string) (eventlog.Entry, error) {
	k.gets.Add(1)
	return k.KV.Get(ctx, key)
}

const testGUID = "8af92758-451c-4082-a455-d57e927676a8"

func TestAliasAuthenticate(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	s := startService(t, kv, Config{})
	k, _ := mustCreate(t, s, Spec{Name: "dock", Dialect: "jetstream", Subscribe: []string{"jetstream.>"}})
	other, _ := mustCreate(t, s, Spec{Name: "other"})
	if err := s.CreateAlias(ctx, "jetstream", testGUID, k.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.AuthenticateAlias(ctx, "jetstream", testGUID)
	if err != nil || got.ID != k.ID || got.Name != "dock" {
		t.Fatalf("AuthenticateAlias = %+v, %v", got, err)
	}
	for _, tc := range []struct{ ns, secret string }{
		{"jetstream", strings.Replace(testGUID, "8", "9", 1)},
		{"zulip", testGUID},
		{"", testGUID},
		{"Jetstream", testGUID},
		{"jetstream", ""},
		{"jetstream", testGUID[:minAliasSecret-1]},
		{"jetstream", strings.Repeat("a", maxAliasSecret+1)},
	} {
		if k, err := s.AuthenticateAlias(ctx, tc.ns, tc.secret); !errors.Is(err, ErrUnauthorized) || k != nil {
			t.Errorf("AuthenticateAlias(%q, %q) = %v, %v; want ErrUnauthorized", tc.ns, tc.secret, k, err)
		}
	}
	// Again for the same key: no error (nodes migrate at once); for another: taken.
	if err := s.CreateAlias(ctx, "jetstream", testGUID, k.ID); err != nil {
		t.Fatalf("same alias again: %v", err)
	}
	if err := s.CreateAlias(ctx, "jetstream", testGUID, other.ID); !errors.Is(err, ErrAliasTaken) {
		t.Fatalf("alias of another key: %v, want ErrAliasTaken", err)
	}
	for _, tc := range []struct{ ns, secret, id string }{
		{"jet.stream", testGUID, k.ID}, {"", testGUID, k.ID}, {"jetstream", "short", k.ID}, {"jetstream", testGUID, "nope"},
	} {
		if err := s.CreateAlias(ctx, tc.ns, tc.secret, tc.id); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateAlias(%q, %q, %q) = %v, want ErrInvalid", tc.ns, tc.secret, tc.id, err)
		}
	}
	// Only the digest is stored.
	for _, v := range kv.allWritten() {
		if bytes.Contains(v, []byte(testGUID)) {
			t.Fatalf("stored value contains the alias secret: %s", v)
		}
	}
	// Revoking the key locks the alias out.
	if err := s.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAlias(ctx, "jetstream", testGUID); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("alias of a revoked key: %v", err)
	}
}

// TestAliasFromMemory: a known alias costs no engine read, on the node
// that made it and on one whose watch delivered it.
func TestAliasFromMemory(t *testing.T) {
	ctx := t.Context()
	kv := &readCounter{KV: newMemKV()}
	a := startService(t, kv, Config{})
	b := startService(t, kv, Config{})
	k, _ := mustCreate(t, a, Spec{Name: "dock"})
	if err := a.CreateAlias(ctx, "jetstream", testGUID, k.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node b's watch delivers the alias and its key", func() bool {
		return b.cachedAlias(aliasName("jetstream", sha256.Sum256([]byte(testGUID)))) != nil && b.cached(k.ID) != nil
	})
	before := kv.gets.Load()
	for _, s := range []*Service{a, b} {
		for range 10 {
			if _, err := s.AuthenticateAlias(ctx, "jetstream", testGUID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := kv.gets.Load() - before; n != 0 {
		t.Fatalf("20 authentications by alias made %d engine reads, want 0", n)
	}
}

// TestAliasMissesBounded: made-up aliases reach the engine only as often as
// the miss limiter allows, and use up the same budget as made-up tokens.
func TestAliasMissesBounded(t *testing.T) {
	ctx := t.Context()
	kv := &readCounter{KV: newMemKV()}
	stopped := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := startService(t, kv, Config{Now: func() time.Time { return stopped }})
	for i := range 1000 {
		if _, err := s.AuthenticateAlias(ctx, "jetstream", fmt.Sprintf("00000000-0000-4000-8000-%012d", i)); !errors.Is(err, ErrUnauthorized) {
			t.Fatal(err)
		}
	}
	if n := kv.gets.Load(); n != missBurst {
		t.Fatalf("1000 unknown aliases made %d engine reads, want the miss limiter's %d", n, missBurst)
	}
	if _, err := s.Authenticate(ctx, formatToken("0123456789abcdef", strings.Repeat("A", secretLen))); !errors.Is(err, ErrUnauthorized) {
		t.Fatal(err)
	}
	if n := kv.gets.Load(); n != missBurst {
		t.Fatalf("an unknown token after the aliases made %d more engine reads", n-missBurst)
	}
}

// TestAliasOtherNode: an alias made on one node works on another at once
// (from the engine) and stops working there once removed.
func TestAliasOtherNode(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	a := startService(t, kv, Config{})
	b := startService(t, kv, Config{})
	cold := New(kv, Config{}) // never started: no watch, every alias from the engine
	k, _ := mustCreate(t, a, Spec{Name: "dock"})
	if err := a.CreateAlias(ctx, "jetstream", testGUID, k.ID); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*Service{"b": b, "cold": cold} {
		if got, err := s.AuthenticateAlias(ctx, "jetstream", testGUID); err != nil || got.ID != k.ID {
			t.Fatalf("node %s: %+v, %v", name, got, err)
		}
	}
	eventually(t, "node b caches the alias", func() bool {
		return b.cachedAlias(aliasName("jetstream", sha256.Sum256([]byte(testGUID)))) != nil
	})
	other, _ := mustCreate(t, a, Spec{Name: "other"})
	if err := a.CreateAlias(ctx, "jetstream", strings.ToUpper(testGUID), other.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := b.RemoveAliases(ctx, "jetstream", k.ID); err != nil || n != 1 {
		t.Fatalf("RemoveAliases = %d, %v", n, err)
	}
	if _, err := b.AuthenticateAlias(ctx, "jetstream", testGUID); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("removed alias on the node that removed it: %v", err)
	}
	eventually(t, "node a drops the removed alias", func() bool {
		_, err := a.AuthenticateAlias(ctx, "jetstream", testGUID)
		return errors.Is(err, ErrUnauthorized)
	})
	if got, err := a.AuthenticateAlias(ctx, "jetstream", strings.ToUpper(testGUID)); err != nil || got.ID != other.ID {
		t.Fatalf("another key's alias: %+v, %v", got, err)
	}
}

// TestAliasImportConcurrent: nodes starting at once import the same alias
// without error, and the record is made once.
func TestAliasImportConcurrent(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	k, _ := mustCreate(t, New(kv, Config{}), Spec{Name: "legacy"})
	sum := sha256.Sum256([]byte(testGUID))
	nodes := []*Service{startService(t, kv, Config{}), startService(t, kv, Config{}), New(kv, Config{}), New(kv, Config{})}
	var wg sync.WaitGroup
	errs := make([]error, len(nodes))
	for i, s := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.ImportAlias(ctx, "jetstream", sum, k.ID)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if ents, _ := kv.List(ctx, aliasPrefix); len(ents) != 1 {
		t.Fatalf("%d alias records", len(ents))
	}
	if got, err := New(kv, Config{}).AuthenticateAlias(ctx, "jetstream", testGUID); err != nil || got.ID != k.ID {
		t.Fatalf("imported alias: %+v, %v", got, err)
	}
}

// TestAliasRemovedDuringWatchOutage: an alias removed while a node's watch
// was down is dropped when the watch replays the bucket.
func TestAliasRemovedDuringWatchOutage(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	a := New(kv, Config{})
	k, _ := mustCreate(t, a, Spec{Name: "x"})
	if err := a.CreateAlias(ctx, "jetstream", testGUID, k.ID); err != nil {
		t.Fatal(err)
	}
	b := startService(t, kv, Config{})
	eventually(t, "node b watches", func() bool { return kv.watching() == 1 })
	kv.setNoWatch(errors.New("connection lost"))
	kv.breakWatches(errors.New("connection lost"))
	eventually(t, "node b's watch ends", func() bool { return kv.watching() == 0 })
	if n, err := a.RemoveAliases(ctx, "jetstream", k.ID); err != nil || n != 1 {
		t.Fatalf("RemoveAliases = %d, %v", n, err)
	}
	name := aliasName("jetstream", sha256.Sum256([]byte(testGUID)))
	if b.cachedAlias(name) == nil {
		t.Fatal("test bug: node b forgot the alias without a watch")
	}
	kv.setNoWatch(nil)
	eventually(t, "node b drops the alias removed during the outage", func() bool { return b.cachedAlias(name) == nil })
	if _, err := b.AuthenticateAlias(ctx, "jetstream", testGUID); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("removed alias: %v", err)
	}
}

func TestAliasDamagedRecord(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	s := startService(t, kv, Config{})
	k, _ := mustCreate(t, s, Spec{Name: "x"})
	sum := sha256.Sum256([]byte(testGUID))
	name := aliasName("jetstream", sum)
	other := sha256.Sum256([]byte("another secret, not this one"))
	for _, v := range []string{
		`{"namespace":"jetstream","key_id":"` + k.ID + `","sha256":""}`,
		`{"namespace":"zulip","key_id":"` + k.ID + `","sha256":"` + fmt.Sprintf("%x", sum) + `"}`,
		`{"namespace":"jetstream","key_id":"` + k.ID + `","sha256":"` + fmt.Sprintf("%x", other) + `"}`,
		`not json`,
	} {
		if _, err := kv.Put(ctx, aliasPrefix+name, []byte(v)); err != nil {
			t.Fatal(err)
		}
		if _, err := New(kv, Config{}).AuthenticateAlias(ctx, "jetstream", testGUID); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("damaged record %s: %v", v, err)
		}
	}
	eventually(t, "the watch evicts the damaged alias", func() bool { return s.cachedAlias(name) == nil })
}

func FuzzDecodeAlias(f *testing.F) {
	sum := sha256.Sum256([]byte(testGUID))
	f.Add(aliasName("jetstream", sum), []byte(fmt.Sprintf(`{"namespace":"jetstream","key_id":"0123456789abcdef","sha256":"%x"}`, sum)))
	f.Add("x.y", []byte(`{"sha256":1}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		rec, got, err := decodeAlias(name, data)
		if err != nil {
			return
		}
		if aliasName(rec.Namespace, got) != name || !validID(rec.KeyID) || !validNamespace(rec.Namespace) {
			t.Fatalf("accepted %q as %q: %+v", data, name, rec)
		}
	})
}
