package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/ctxtime"
)

// Backoff paces a connector's attempts after upstream faults: exponential
// from Min to Max with full jitter (so connectors cut by the same outage do
// not come back in step), or the upstream's own Retry-After when it sent
// one. Not safe for concurrent use: one per connector loop.
type Backoff struct {
	Min, Max time.Duration // 0: DefaultMinBackoff, DefaultMaxBackoff
	attempt  int
}

// Default pauses of a Backoff.
const (
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = time.Minute
)

// Next returns the pause before the next attempt after err, and counts the
// attempt. An *UpstreamError's RetryAfter is honoured as given (bounded by
// Max), without jitter: the upstream said when.
func (b *Backoff) Next(err error) time.Duration {
	lo, hi := b.Min, b.Max
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	var ue *UpstreamError
	if errors.As(err, &ue) && ue.RetryAfter > 0 {
		b.attempt++
		return min(ue.RetryAfter, hi)
	}
	d := lo << min(b.attempt, 20)
	if d <= 0 || d > hi {
		d = hi
	}
	b.attempt++
	return d/2 + rand.N(d/2+1) // within [d/2, d]: never hammered, never all at once
}

// Reset starts the sequence again, after an attempt that worked.
func (b *Backoff) Reset() { b.attempt = 0 }

// UpstreamError is an answer of the upstream that is not a success.
type UpstreamError struct {
	Status     int
	RetryAfter time.Duration // from Retry-After on 429 and 503; 0 if none
	Body       string        // the start of the answer, for the operator
}

func (e *UpstreamError) Error() string {
	s := "upstream answered " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	if e.RetryAfter > 0 {
		s += " (retry after " + e.RetryAfter.String() + ")"
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Unwrap makes a refusal of the connector's credentials (401, 403) an
// ErrStopped: retrying with the same key cannot help.
func (e *UpstreamError) Unwrap() error {
	if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		return ErrStopped
	}
	return nil
}

// CheckResponse returns nil for a 2xx answer, else an *UpstreamError (the
// body is read, up to a little, and closed).
func CheckResponse(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	e := &UpstreamError{Status: resp.StatusCode, Body: strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// ParseRetryAfter reads a Retry-After value, seconds or an HTTP date
// (RFC 9110 §10.2.3); 0 if absent or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Retry runs attempt until ctx ends or it fails for good: each failure is
// reported (Failed, Connected(false)), paced by b, and counted as a
// reconnect when the next attempt starts. An attempt calls up once it is
// connected to its upstream (which reports it and resets b), and returns
// when the connection ends: nil for a clean end (tried again at once), an
// error wrapping ErrStopped to stop. Retry returns ctx's error or that one.
func Retry(ctx context.Context, r Reporter, b *Backoff, attempt func(ctx context.Context, up func()) error) error {
	up := func() {
		b.Reset()
		r.Connected(true)
	}
	for {
		err := attempt(ctx, up)
		if ctx.Err() != nil {
			r.Connected(false)
			return ctx.Err()
		}
		r.Connected(false)
		if errors.Is(err, ErrStopped) {
			r.Failed(err)
			return err
		}
		if err != nil {
			r.Failed(err)
			if err := ctxtime.Sleep(ctx, b.Next(err)); err != nil {
				return err
			}
		}
		r.Reconnecting()
	}
}

// Stopped wraps err (an upstream's refusal) as ErrStopped.
func Stopped(err error) error { return fmt.Errorf("%w: %w", ErrStopped, err) }
