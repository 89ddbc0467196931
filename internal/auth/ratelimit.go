package auth

import (
	"math"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// defaultRate is the rate and burst of keys without a rate of their own;
// SetRate replaces it while requests read it.
type defaultRate struct {
	rate  float64
	burst int
}

// SetRate changes the default per-key rate and burst (Config.Rate and
// Config.Burst, with their defaults for values <= 0): keys without a rate
// of their own are limited by it from their next request on.
func (s *Service) SetRate(r float64, burst int) {
	if r <= 0 {
		r = DefaultRate
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	s.rate.Store(&defaultRate{rate: r, burst: burst})
}

// Rate returns the default per-key rate and burst in effect.
func (s *Service) Rate() (float64, int) {
	d := s.rate.Load()
	return d.rate, d.burst
}

// limiter is one key's token bucket.
type limiter struct {
	lim  *rate.Limiter
	last atomic.Int64 // unix nanoseconds of the last request, for eviction
}

// Allow takes one request from k's token bucket. When the bucket is empty
// it returns false and how long to wait, rounded up to whole seconds and at
// least one second, as the Retry-After header wants. Admin keys without a
// rate of their own are not limited.
func (s *Service) Allow(k *Key) (ok bool, retryAfter time.Duration) {
	if k == nil {
		return false, time.Second
	}
	if k.Admin && k.Rate == 0 {
		return true, 0 // the operator's key is not throttled unless it asks to be
	}
	r, burst := s.Rate()
	if k.Rate > 0 {
		// A key's own rate gets a burst of two seconds' worth, like the
		// default (1000/s, 2000): a key limited to 1/s must not get 2000.
		r, burst = k.Rate, max(1, int(math.Ceil(2*k.Rate)))
	}
	if math.IsInf(r, 1) {
		return true, 0
	}
	now := s.now()
	l := s.limiterFor(k.ID, r, burst, now)
	l.last.Store(now.UnixNano())
	if l.lim.AllowN(now, 1) {
		return true, 0
	}
	wait := time.Duration((1 - l.lim.TokensAt(now)) / r * float64(time.Second))
	return false, roundUpSeconds(wait)
}

func roundUpSeconds(d time.Duration) time.Duration {
	secs := (d + time.Second - 1) / time.Second
	return max(secs, 1) * time.Second
}

// limiterFor returns id's limiter, making room for a new one if the map is full.
func (s *Service) limiterFor(id string, r float64, burst int, now time.Time) *limiter {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	if l := s.limiters[id]; l != nil {
		if float64(l.lim.Limit()) != r || l.lim.Burst() != burst {
			l.lim.SetLimitAt(now, rate.Limit(r))
			l.lim.SetBurstAt(now, burst)
		}
		return l
	}
	if len(s.limiters) >= s.cfg.MaxLimiters {
		s.evictLocked(now)
	}
	l := &limiter{lim: rate.NewLimiter(rate.Limit(r), burst)}
	s.limiters[id] = l
	return l
}

// evictLocked frees at least one slot. A limiter whose bucket has refilled
// is indistinguishable from a new one, so dropping those loses nothing; if
// every key is busy, the least recently used one goes, which at worst lets
// that key burst again: bounded memory matters more.
func (s *Service) evictLocked(now time.Time) {
	var oldest string
	oldestAt := int64(math.MaxInt64)
	for id, l := range s.limiters {
		if l.lim.TokensAt(now) >= float64(l.lim.Burst()) {
			delete(s.limiters, id)
			continue
		}
		if at := l.last.Load(); at < oldestAt {
			oldest, oldestAt = id, at
		}
	}
	if len(s.limiters) >= s.cfg.MaxLimiters {
		delete(s.limiters, oldest)
	}
}

func (s *Service) forgetLimiter(id string) {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	delete(s.limiters, id)
}
