package dialect_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/faults"
)

// faultGuard serves one native handler (and one admin handler) behind the
// guard and counts the requests that reach them.
type faultGuard struct {
	c        *dialecttest.Core
	url      string
	reached  atomic.Int64
	inFlight atomic.Int64 // requests the server is serving
}

func newFaultGuard(t *testing.T) *faultGuard {
	fg := &faultGuard{c: dialecttest.NewCore(t, dialecttest.Options{})}
	g := fg.c.Guard(dialect.GuardSpec{Credential: func(r *http.Request) (string, error) { return auth.BearerToken(r), nil }})
	h := func(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
		fg.reached.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	counted := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fg.inFlight.Add(1)
			defer fg.inFlight.Add(-1)
			h.ServeHTTP(w, r)
		})
	}
	srv := fg.c.Serve(t, func(mux *http.ServeMux) {
		mux.Handle("GET /x", counted(g.Handle(h)))
		mux.Handle("GET /admin", counted(fg.c.AdminGuard(0).Handle(h)))
	})
	fg.url = srv.URL
	return fg
}

func (fg *faultGuard) add(t *testing.T, body string) faults.Rule {
	t.Helper()
	spec, err := faults.ParseSpec([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r, err := fg.c.Faults.Add(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (fg *faultGuard) get(t *testing.T, ctx context.Context, path, key string) (*http.Response, map[string]map[string]string, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", fg.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var body map[string]map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	return resp, body, nil
}

// Each request action, in the native shape, before the handler runs; the
// admin endpoints never suffer one.
func TestGuardInjectsFaults(t *testing.T) {
	fg := newFaultGuard(t)
	ctx := context.Background()
	key, tok, err := fg.c.Auth.Create(ctx, auth.Spec{Name: "app", Subscribe: []string{">"}})
	if err != nil {
		t.Fatal(err)
	}
	admin := fg.c.Key(t, auth.Spec{Name: "admin", Admin: true})
	injected := func(action string) float64 {
		return counterValue(fg.c.Metrics.FaultsInjected.WithLabelValues("native", action))
	}

	if resp, _, err := fg.get(t, ctx, "/x", tok); err != nil || resp.StatusCode != 204 || fg.reached.Load() != 1 {
		t.Fatalf("no rules: %v %v", resp, err)
	}

	r := fg.add(t, `{"action":"status","status":429,"retry_after":"3s"}`) // any dialect
	resp, body, err := fg.get(t, ctx, "/x", tok)
	if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" ||
		body["error"]["code"] != "rate_limited" || resp.Header.Get(dialect.FaultHeader) != r.ID {
		t.Fatalf("status 429: %v %v %v", resp, body, err)
	}
	if resp, _, _ := fg.get(t, ctx, "/admin", admin); resp.StatusCode != 204 {
		t.Fatalf("an admin endpoint suffered the fault: %d", resp.StatusCode)
	}
	if injected("status") != 1 || fg.reached.Load() != 2 {
		t.Fatalf("injected %v, handlers reached %d", injected("status"), fg.reached.Load())
	}
	fg.c.Faults.Clear(ctx)

	fg.add(t, `{"action":"status","key":"`+key.ID+`"}`)
	resp, body, _ = fg.get(t, ctx, "/x", tok)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || body["error"]["code"] != "unavailable" {
		t.Fatalf("status 503: %v %v", resp, body)
	}
	if resp, _, _ := fg.get(t, ctx, "/x", admin); resp.StatusCode != 204 {
		t.Fatalf("a rule for one key applied to another: %d", resp.StatusCode)
	}
	fg.c.Faults.Clear(ctx)

	fg.add(t, `{"action":"reject_key","dialect":"native"}`)
	resp, body, _ = fg.get(t, ctx, "/x", tok)
	if resp.StatusCode != 401 || body["error"]["code"] != "unauthorized" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("reject_key: %v %v", resp, body)
	}
	fg.c.Faults.Clear(ctx)

	const d = 300 * time.Millisecond
	fg.add(t, `{"action":"delay","delay":"300ms"}`)
	began := time.Now()
	resp, _, _ = fg.get(t, ctx, "/x", tok)
	if took := time.Since(began); resp.StatusCode != 204 || took < d { // a timer never fires early
		t.Fatalf("delay: %d after %v, want 204 after at least %v", resp.StatusCode, took, d)
	}
	fg.c.Faults.Clear(ctx)

	// A client that gives up while held leaves, and its request never
	// reaches the handler.
	fg.add(t, `{"action":"delay","delay":"10m"}`)
	reached := fg.reached.Load()
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		for counterValue(fg.c.Metrics.FaultsInjected.WithLabelValues("native", "delay")) < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, _, err := fg.get(t, cctx, "/x", tok); !errors.Is(err, context.Canceled) {
		t.Fatalf("held request: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); fg.inFlight.Load() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server still holds the request its client gave up")
		}
	}
	fg.c.Faults.Clear(ctx)
	if resp, _, _ := fg.get(t, ctx, "/x", tok); resp.StatusCode != 204 || fg.reached.Load() != reached+1 {
		t.Fatalf("the cancelled request reached the handler, or the next failed: %d %d", resp.StatusCode, fg.reached.Load()-reached)
	}
	if injected("delay") != 2 || injected("reject_key") != 1 || injected("status") != 2 {
		t.Errorf("herald_faults_injected_total: delay %v reject_key %v status %v",
			injected("delay"), injected("reject_key"), injected("status"))
	}
}

// BenchmarkGuardHandle is the pipeline's cost per request without a fault
// store, with one holding no rules (the hook's one atomic load), and with
// a rule for another key.
func BenchmarkGuardHandle(b *testing.B) {
	c := dialecttest.NewCore(b, dialecttest.Options{})
	tok := c.Key(b, auth.Spec{Name: "bench", Subscribe: []string{">"}, Rate: 1e12})
	spec := dialect.GuardSpec{Credential: func(r *http.Request) (string, error) { return auth.BearerToken(r), nil }}
	h := func(w http.ResponseWriter, r *http.Request, req *dialect.Request) error { return nil }
	run := func(b *testing.B, g *dialect.Guard) {
		handler := g.Handle(h)
		req := httptest.NewRequest("GET", "/x", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			handler.ServeHTTP(w, req)
		}
	}
	b.Run("no-store", func(b *testing.B) {
		store := c.Faults
		c.Faults = nil
		g := c.Guard(spec)
		c.Faults = store
		run(b, g)
	})
	b.Run("no-rules", func(b *testing.B) { run(b, c.Guard(spec)) })
	b.Run("rule-for-another-key", func(b *testing.B) {
		s, _ := faults.ParseSpec([]byte(`{"action":"reject_key","key":"0000000000000000"}`))
		r, err := c.Faults.Add(context.Background(), s)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Faults.Delete(context.Background(), r.ID)
		run(b, c.Guard(spec))
	})
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}
