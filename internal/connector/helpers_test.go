package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
)

// fake is a kind whose connectors report what the test scripts: a spec
// whose key is "refused" is stopped by its upstream; any other runs until
// its context ends, after reporting one connection and one event.
type fake struct {
	mu      sync.Mutex
	runs    map[string]int            // runs started, by connector
	envs    map[string]connector.Spec // the spec of each one's last run
	observe [][]connector.Spec
}

func newFake() *fake { return &fake{runs: map[string]int{}, envs: map[string]connector.Spec{}} }

func (f *fake) Check(spec connector.Spec) error {
	if spec.Key == "" {
		return errors.New("key: the fake upstream needs one")
	}
	return nil
}

func (f *fake) Run(ctx context.Context, env connector.Env) error {
	f.mu.Lock()
	f.runs[env.Spec.Name]++
	f.envs[env.Spec.Name] = env.Spec
	f.mu.Unlock()
	if env.Spec.Key == "refused" {
		return connector.Stopped(&connector.UpstreamError{Status: 401})
	}
	env.Report.Connected(true)
	env.Report.Ingested(2, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	if err := env.Positions.Store(ctx, "pos-1"); err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

func (f *fake) Observe(specs []connector.Spec) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.observe = append(f.observe, specs)
}

func (f *fake) runsOf(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs[name]
}

func (f *fake) lastObserved() ([]connector.Spec, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.observe) == 0 {
		return nil, false
	}
	return f.observe[len(f.observe)-1], true
}

// env is a core serving /v1/connectors with the fake kind.
type env struct {
	core  *dialecttest.Core
	svc   *connector.Service
	fake  *fake
	url   string
	admin string
	app   string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	c := dialecttest.NewCore(t, dialecttest.Options{})
	f := newFake()
	svc, err := connector.New(t.Context(), c.Core, connector.Config{
		Kinds: map[string]connector.Kind{"fake": f}, StateEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	svc.Start()
	t.Cleanup(svc.Close)
	srv := c.Serve(t, svc.Mount)
	return &env{core: c, svc: svc, fake: f, url: srv.URL,
		admin: c.Key(t, auth.Spec{Name: "admin", Admin: true}),
		app:   c.Key(t, auth.Spec{Name: "app", Subscribe: []string{">"}})}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
}

func (e *env) do(t testing.TB, method, path, token, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func (e *env) view(t *testing.T, name string) connector.View {
	t.Helper()
	var v connector.View
	r := e.do(t, "GET", "/v1/connectors/"+name, e.admin, "")
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", name, r.status, r.body)
	}
	r.decode(t, &v)
	return v
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// value reads a gauge's or a counter's value.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.GetCounter().GetValue()
}

// series counts a collector's series.
func series(c prometheus.Collector) int {
	ch := make(chan prometheus.Metric)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	n := 0
	for range ch {
		n++
	}
	return n
}
