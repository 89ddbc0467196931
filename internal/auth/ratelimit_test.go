package auth

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/clocktest"
)

// clock is the tests' stopped clock.
type clock = clocktest.Clock

func newLimitedService(cfg Config) (*Service, *clock) {
	s := New(newMemKV(), cfg)
	c := clocktest.New(time.Unix(1_700_000_000, 0))
	s.now = c.Now
	return s, c
}

func TestAllow(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		keyRate   float64
		wantBurst int
		wantRetry time.Duration
	}{
		{"default rate rounds up to 1s", Config{Rate: 10, Burst: 3}, 0, 3, time.Second},
		{"slow rate", Config{Rate: 0.5, Burst: 1}, 0, 1, 2 * time.Second},
		{"fractional wait rounds up", Config{Rate: 0.4, Burst: 2}, 0, 2, 3 * time.Second},
		{"key rate overrides default, burst two seconds' worth", Config{Rate: 1000, Burst: 2000}, 0.25, 1, 4 * time.Second},
		{"key rate 5/s bursts 10", Config{Rate: 1000, Burst: 2000}, 5, 10, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newLimitedService(tt.cfg)
			k := &Key{ID: "0123456789abcdef", Rate: tt.keyRate}
			for i := range tt.wantBurst {
				if ok, _ := s.Allow(k); !ok {
					t.Fatalf("request %d of the burst refused", i+1)
				}
			}
			ok, retry := s.Allow(k)
			if ok {
				t.Fatal("request after the burst allowed")
			}
			if retry != tt.wantRetry || retry%time.Second != 0 {
				t.Fatalf("retryAfter = %v, want %v", retry, tt.wantRetry)
			}
			// Just before retryAfter it may still be refused; at retryAfter a
			// token is back, so the hint is never too short.
			c.Advance(retry)
			if ok, _ := s.Allow(k); !ok {
				t.Fatalf("refused after waiting retryAfter %v", retry)
			}
		})
	}
}

func TestAllowKeysIndependent(t *testing.T) {
	s, _ := newLimitedService(Config{Rate: 1, Burst: 1})
	a, b := &Key{ID: "000000000000000a"}, &Key{ID: "000000000000000b"}
	if ok, _ := s.Allow(a); !ok {
		t.Fatal("a refused")
	}
	if ok, _ := s.Allow(a); ok {
		t.Fatal("a's second request allowed")
	}
	if ok, _ := s.Allow(b); !ok {
		t.Fatal("b refused because of a")
	}
}

func TestAllowUnlimited(t *testing.T) {
	s, _ := newLimitedService(Config{Rate: math.Inf(1), Burst: 1})
	k := &Key{ID: "0123456789abcdef"}
	for range 1000 {
		if ok, _ := s.Allow(k); !ok {
			t.Fatal("unlimited service refused a request")
		}
	}
	if n := s.limiterCount(); n != 0 {
		t.Fatalf("unlimited service keeps %d limiters", n)
	}
}

func TestLimiterMapBounded(t *testing.T) {
	const max = 8
	s, c := newLimitedService(Config{Rate: 1, Burst: 2, MaxLimiters: max})
	busy := &Key{ID: "ffffffffffffffff"}
	for range 2 {
		s.Allow(busy) // empties busy's bucket
	}
	for i := range 1000 {
		// Every key stays busy (bucket not refilled), forcing LRU eviction.
		k := &Key{ID: fmt.Sprintf("%016x", i)}
		s.Allow(k)
		s.Allow(busy)
		if n := s.limiterCount(); n > max {
			t.Fatalf("after %d keys, %d limiters are kept; bound is %d", i+1, n, max)
		}
	}
	if !s.hasLimiter(busy.ID) {
		t.Fatal("the most recently used limiter was evicted")
	}

	// Once idle keys' buckets have refilled they go first, and busy keeps
	// its state: it is still refused.
	c.Advance(10 * time.Second)
	for range 3 {
		s.Allow(busy)
	}
	s.Allow(&Key{ID: "eeeeeeeeeeeeeeee"})
	if n := s.limiterCount(); n != 2 {
		t.Fatalf("%d limiters after evicting refilled ones, want 2", n)
	}
	if ok, _ := s.Allow(busy); ok {
		t.Fatal("busy key's exhausted bucket was forgotten")
	}
}

func TestRevokeForgetsLimiter(t *testing.T) {
	s := startService(t, newMemKV(), Config{Rate: 1, Burst: 1})
	k, token := mustCreate(t, s, Spec{Name: "x"})
	key, err := s.Authenticate(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	s.Allow(key)
	if !s.hasLimiter(k.ID) {
		t.Fatal("no limiter after a request")
	}
	if err := s.Revoke(t.Context(), k.ID); err != nil {
		t.Fatal(err)
	}
	if s.hasLimiter(k.ID) {
		t.Fatal("revoked key's limiter kept")
	}
}

func (s *Service) hasLimiter(id string) bool {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	return s.limiters[id] != nil
}

func (s *Service) limiterCount() int {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	return len(s.limiters)
}

func TestAllowAdmin(t *testing.T) {
	s, _ := newLimitedService(Config{Rate: 1, Burst: 1})
	admin := &Key{ID: "0123456789abcdef", Admin: true}
	for i := 0; i < 100; i++ {
		if ok, _ := s.Allow(admin); !ok {
			t.Fatalf("admin key limited at request %d", i+1)
		}
	}
	capped := &Key{ID: "fedcba9876543210", Admin: true, Rate: 1}
	s.Allow(capped)
	s.Allow(capped)
	if ok, _ := s.Allow(capped); ok {
		t.Fatal("admin key with its own rate was not limited")
	}
}

// SetRate changes the default rate of keys already limited, from their
// next request, and leaves keys with a rate of their own alone.
func TestSetRate(t *testing.T) {
	s, _ := newLimitedService(Config{Rate: 1000, Burst: 2000})
	def := &Key{ID: "0123456789abcdef"}
	own := &Key{ID: "fedcba9876543210", Rate: 5}
	for _, k := range []*Key{def, own} {
		if ok, _ := s.Allow(k); !ok {
			t.Fatalf("key %s refused before the change", k.ID)
		}
	}
	s.SetRate(1, 1)
	if ok, _ := s.Allow(def); !ok {
		t.Fatal("first request after SetRate(1, 1) refused")
	}
	if ok, retry := s.Allow(def); ok || retry != time.Second {
		t.Fatalf("second request after SetRate(1, 1): ok=%v retry=%v, want refused, 1s", ok, retry)
	}
	for i := range 9 { // the own rate's burst of 10, one already taken
		if ok, _ := s.Allow(own); !ok {
			t.Fatalf("own-rate key refused at request %d after SetRate", i+2)
		}
	}
	s.SetRate(math.Inf(1), 0)
	for range 100 {
		if ok, _ := s.Allow(def); !ok {
			t.Fatal("refused with the default rate unlimited")
		}
	}
	if r, b := s.Rate(); !math.IsInf(r, 1) || b != DefaultBurst {
		t.Fatalf("Rate() = %v, %d; want +Inf, %d", r, b, DefaultBurst)
	}
}
