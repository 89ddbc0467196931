package faults

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/clocktest"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/eventlog/memkv"
)

// clock is the tests' stopped clock.
type clock = clocktest.Clock

// kvs are the buckets the store's contract runs on: the in-memory twin and
// a real log's KV. Each call returns one new, empty bucket; stores opened
// on it see each other as two nodes do.
var kvs = []struct {
	name string
	open func(t *testing.T) eventlog.KV
}{
	{"memkv", func(*testing.T) eventlog.KV { return memkv.New() }},
	{"log", func(t *testing.T) eventlog.KV {
		l, err := eventlog.Open(t.Context(), eventlog.Config{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		kv, err := l.KV(t.Context(), Bucket)
		if err != nil {
			t.Fatal(err)
		}
		return kv
	}},
}

func startStore(t *testing.T, kv eventlog.KV, cfg Config) *Store {
	t.Helper()
	s := New(kv, cfg)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func mustAdd(t *testing.T, s *Store, body string) Rule {
	t.Helper()
	spec, err := ParseSpec([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Add(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// rejects reports whether the rules in effect reject a native request of
// key.
func rejects(s *Store, key string) bool {
	rs := s.Rules()
	if rs == nil {
		return false
	}
	f, _ := rs.Request("native", key)
	return f.Action == RejectKey
}

// Two stores on one bucket are two nodes: a rule made on either is in
// effect on both, on the one that made it as soon as Add returns, and
// deleting it on either ends it on both.
func TestStoresShareRules(t *testing.T) {
	for _, kv := range kvs {
		t.Run(kv.name, func(t *testing.T) {
			bucket := kv.open(t)
			var changes atomic.Int64
			a := startStore(t, bucket, Config{OnChange: func() { changes.Add(1) }})
			b := startStore(t, bucket, Config{})
			if a.Rules() != nil || b.Rules() != nil {
				t.Fatal("rules in effect on an empty bucket")
			}
			before := changes.Load()
			r := mustAdd(t, a, `{"dialect":"native","action":"reject_key","key":"k1"}`)
			if !rejects(a, "k1") || rejects(a, "k2") {
				t.Fatal("node a: its own rule is not in effect when Add returns, or applies to another key")
			}
			if changes.Load() == before {
				t.Error("OnChange was not called")
			}
			eventually(t, "node b sees node a's rule", func() bool { return rejects(b, "k1") })

			got, err := b.Get(t.Context(), r.ID)
			if err != nil || got.ID != r.ID || got.Action != RejectKey || got.Key != "k1" || !got.Created.Equal(r.Created) {
				t.Fatalf("b.Get = %+v, %v; want %+v", got, err, r)
			}
			r2 := mustAdd(t, b, `{"action":"cut_stream","after_events":3}`)
			list, err := a.List(t.Context())
			if err != nil || len(list) != 2 || list[0].ID != r.ID || list[1].ID != r2.ID {
				t.Fatalf("a.List = %+v, %v", list, err)
			}

			if err := b.Delete(t.Context(), r.ID); err != nil {
				t.Fatal(err)
			}
			if rejects(b, "k1") {
				t.Fatal("node b: the rule it deleted is still in effect when Delete returns")
			}
			eventually(t, "node a sees the deletion", func() bool { return !rejects(a, "k1") })
			if err := a.Delete(t.Context(), r.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("deleting it again: %v, want ErrNotFound", err)
			}
			if _, err := a.Get(t.Context(), r.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get of a deleted rule: %v", err)
			}
			n, err := a.Clear(t.Context())
			if err != nil || n != 1 || a.Rules() != nil {
				t.Fatalf("Clear = %d, %v; rules %v", n, err, a.Rules())
			}
			eventually(t, "node b sees the clear", func() bool { return b.Rules() == nil })
		})
	}
}

// Rules stored before a node starts are in effect when Start returns.
func TestStartLoadsRules(t *testing.T) {
	for _, kv := range kvs {
		t.Run(kv.name, func(t *testing.T) {
			bucket := kv.open(t)
			a := startStore(t, bucket, Config{})
			mustAdd(t, a, `{"action":"reject_key","key":"k1"}`)
			b := startStore(t, bucket, Config{})
			if !rejects(b, "k1") {
				t.Fatal("a node started after the rule was made does not apply it")
			}
		})
	}
}

// A damaged record is skipped, not applied and not fatal.
func TestDamagedRuleIgnored(t *testing.T) {
	kv := memkv.New()
	if _, err := kv.Put(t.Context(), kvPrefix+"0123456789abcdef", []byte(`{"id":"0123456789abcdef","action":`)); err != nil {
		t.Fatal(err)
	}
	s := startStore(t, kv, Config{})
	if s.Rules() != nil {
		t.Fatal("a damaged record is in effect")
	}
	mustAdd(t, s, `{"action":"reject_key"}`)
	if list, err := s.List(t.Context()); err != nil || len(list) != 1 {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

// A rule with a ttl is out of effect, and out of the list, once its time
// is over, and its record is deleted from the bucket.
func TestRuleExpires(t *testing.T) {
	kv := memkv.New()
	c := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s := startStore(t, kv, Config{Now: c.Now})
	r := mustAdd(t, s, `{"action":"reject_key","key":"k1","ttl":"1m"}`)
	if r.Expires == nil || !r.Expires.Equal(c.Now().Add(time.Minute)) || !rejects(s, "k1") {
		t.Fatalf("rule %+v not in effect until %v", r, c.Now().Add(time.Minute))
	}
	c.Advance(59 * time.Second)
	s.expire()
	if !rejects(s, "k1") {
		t.Fatal("out of effect before its time")
	}
	c.Advance(time.Second)
	s.expire()
	if rejects(s, "k1") {
		t.Fatal("still in effect after its time")
	}
	if list, _ := s.List(t.Context()); len(list) != 0 {
		t.Fatalf("listed after its time: %+v", list)
	}
	if _, err := s.Get(t.Context(), r.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after its time: %v", err)
	}
	eventually(t, "the expired record is deleted", func() bool {
		_, err := kv.Get(t.Context(), kvPrefix+r.ID)
		return errors.Is(err, eventlog.ErrKeyNotFound)
	})
}
