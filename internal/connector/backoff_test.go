package connector_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/connector"
)

func TestBackoffGrowsWithJitterAndHonoursRetryAfter(t *testing.T) {
	b := connector.Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	fault := errors.New("unreachable")
	for i, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		if d := b.Next(fault); d < want/2 || d > want {
			t.Errorf("attempt %d: %v, want within [%v, %v]", i, d, want/2, want)
		}
	}
	if d := b.Next(&connector.UpstreamError{Status: 429, RetryAfter: 700 * time.Millisecond}); d != 700*time.Millisecond {
		t.Errorf("Retry-After 700ms: %v", d)
	}
	if d := b.Next(&connector.UpstreamError{Status: 503, RetryAfter: time.Hour}); d != time.Second {
		t.Errorf("Retry-After past Max: %v, want Max", d)
	}
	b.Reset()
	if d := b.Next(fault); d > 100*time.Millisecond {
		t.Errorf("after Reset: %v", d)
	}
}

func TestCheckResponse(t *testing.T) {
	resp := func(status int, h http.Header) *http.Response {
		if h == nil {
			h = http.Header{}
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("nope\n"))}
	}
	if err := connector.CheckResponse(resp(204, nil)); err != nil {
		t.Fatal(err)
	}
	for _, status := range []int{401, 403} {
		if err := connector.CheckResponse(resp(status, nil)); !errors.Is(err, connector.ErrStopped) {
			t.Errorf("%d: %v is not ErrStopped", status, err)
		}
	}
	err := connector.CheckResponse(resp(429, http.Header{"Retry-After": {"3"}}))
	var ue *connector.UpstreamError
	if !errors.As(err, &ue) || ue.RetryAfter != 3*time.Second || errors.Is(err, connector.ErrStopped) || ue.Body != "nope" {
		t.Fatalf("429: %#v", err)
	}
	if err := connector.CheckResponse(resp(500, http.Header{"Retry-After": {"3"}})); !errors.As(err, &ue) || ue.RetryAfter != 0 {
		t.Fatalf("500 takes no Retry-After: %#v", err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := connector.ParseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); d != 90*time.Second {
		t.Errorf("HTTP date: %v", d)
	}
	for _, v := range []string{"", "soon", "-1", now.Add(-time.Minute).Format(http.TimeFormat)} {
		if d := connector.ParseRetryAfter(v, now); d != 0 {
			t.Errorf("%q: %v", v, d)
		}
	}
}

// recorder is a Reporter that keeps what it was told.
type recorder struct {
	mu         sync.Mutex
	up         []bool
	errs       []error
	reconnects int
}

func (r *recorder) Connected(up bool)       { r.mu.Lock(); r.up = append(r.up, up); r.mu.Unlock() }
func (r *recorder) Ingested(int, time.Time) {}
func (r *recorder) Failed(err error)        { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }
func (r *recorder) Reconnecting()           { r.mu.Lock(); r.reconnects++; r.mu.Unlock() }

func TestRetry(t *testing.T) {
	rec := &recorder{}
	b := &connector.Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}
	n := 0
	err := connector.Retry(t.Context(), rec, b, func(ctx context.Context, up func()) error {
		n++
		switch n {
		case 1:
			return errors.New("unreachable")
		case 2:
			up()
			return nil // a clean end: at once again
		case 3:
			up()
			return &connector.UpstreamError{Status: 503, RetryAfter: time.Millisecond}
		}
		return connector.CheckResponse(&http.Response{StatusCode: 401, Body: io.NopCloser(strings.NewReader(""))})
	})
	if !errors.Is(err, connector.ErrStopped) || n != 4 {
		t.Fatalf("Retry = %v after %d attempts", err, n)
	}
	if rec.reconnects != 3 || len(rec.errs) != 3 || !rec.up[1] || rec.up[len(rec.up)-1] {
		t.Fatalf("reported %+v", rec)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := connector.Retry(ctx, rec, b, func(context.Context, func()) error { return errors.New("x") }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
