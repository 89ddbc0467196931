package hueconn_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/connector/hueconn"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/hue"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
	"github.com/herald-io/herald/internal/topic"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// reporter records what a connector reports.
type reporter struct {
	mu        sync.Mutex
	up        bool
	ups       int // times it became connected
	ingested  int
	errs      []error
	reconnect int
}

func (r *reporter) Connected(up bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if up && !r.up {
		r.ups++
	}
	r.up = up
}
func (r *reporter) Ingested(n int, _ time.Time) { r.mu.Lock(); r.ingested += n; r.mu.Unlock() }
func (r *reporter) Failed(err error)            { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }
func (r *reporter) Reconnecting()               { r.mu.Lock(); r.reconnect++; r.mu.Unlock() }

func (r *reporter) connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.up {
		return 0 // not connected now
	}
	return r.ups
}

// positions is an in-memory connector.Positions.
type positions struct {
	mu  sync.Mutex
	pos string
}

func (p *positions) Load(context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos, nil
}
func (p *positions) Store(_ context.Context, pos string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pos = pos
	return nil
}

// eventually polls cond until it holds or the test's patience ends.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// upstream is a herald with simulated devices, standing in for a bridge.
type upstream struct {
	t   *testing.T
	srv *servertest.Server
	key string // an application key paired with it
}

func newUpstream(t *testing.T) *upstream {
	s := servertest.Start(t, server.Config{})
	u := &upstream{t: t, srv: s}
	u.admin("/v1/hue/link", `{}`)
	r := do(t, http.DefaultClient, "POST", s.URL()+"/api", `{"devicetype":"herald#mirror"}`)
	var pair []struct{ Success struct{ Username string } }
	json.Unmarshal(r.body, &pair)
	if len(pair) != 1 || pair[0].Success.Username == "" {
		t.Fatalf("pairing: %s", r.body)
	}
	u.key = pair[0].Success.Username
	return u
}

func (u *upstream) url() string { return u.srv.URL() }

// admin POSTs to an admin endpoint and returns the answer's data refs.
func (u *upstream) admin(path, body string) []struct{ RID, RType string } {
	u.t.Helper()
	r := do(u.t, http.DefaultClient, "POST", u.url()+path, body, "Authorization: Bearer "+u.srv.Admin)
	if r.status/100 != 2 {
		u.t.Fatalf("%s: %d %s", path, r.status, r.body)
	}
	var env struct{ Data []struct{ RID, RType string } }
	json.Unmarshal(r.body, &env)
	return env.Data
}

func (u *upstream) hue(method, path, body string) resp {
	u.t.Helper()
	return do(u.t, http.DefaultClient, method, u.url()+path, body, "hue-application-key: "+u.key)
}

// device adds a simulated product and returns its first service of rtype.
func (u *upstream) device(product, name, rtype string) string {
	u.t.Helper()
	for _, s := range u.admin("/v1/hue/devices", `{"product":"`+product+`","name":"`+name+`"}`) {
		if s.RType == rtype {
			return s.RID
		}
	}
	u.t.Fatalf("%s has no %s", product, rtype)
	return ""
}

// downstream is a herald whose Hue dialect mirrors an upstream.
type downstream struct {
	t    *testing.T
	core *dialecttest.Core
	api  *hue.API
	srv  *httptest.Server // TLS, as a bridge
	app  string           // an application key of the downstream
	spec connector.Spec
	pos  *positions
	rep  *reporter
	kind *hueconn.Kind

	stop func() error // ends the running connector, returning Run's error
}

func newDownstream(t *testing.T, spec connector.Spec) *downstream {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	d := &downstream{t: t, core: c, spec: spec, pos: &positions{}, rep: &reporter{}}
	fw := &hueconn.Forwarders{Lookup: func(context.Context, string) (connector.Spec, error) { return d.spec, nil }}
	api, err := hue.New(c.Core, hue.Config{BatchWindow: -1, Upstream: fw.Upstream})
	if err != nil {
		t.Fatal(err)
	}
	d.api = api
	mux := http.NewServeMux()
	api.Mount(mux)
	d.srv = httptest.NewTLSServer(mux)
	t.Cleanup(func() {
		c.Stop()
		d.srv.CloseClientConnections()
		d.srv.Close()
	})
	d.app = c.Key(t, auth.Spec{Name: "app", Dialect: "hue", Publish: []string{"hue.>"}, Subscribe: []string{"hue.>"}})
	d.kind = hueconn.New(api)
	return d
}

// start runs the connector until stop (or the test's end).
func (d *downstream) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- d.kind.Run(ctx, connector.Env{Core: d.core.Core, Spec: d.spec, Report: d.rep, Positions: d.pos})
	}()
	var once sync.Once
	var runErr error
	d.stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	d.t.Cleanup(func() { d.stop() })
}

func (d *downstream) hue(method, path, body string) resp {
	d.t.Helper()
	return do(d.t, d.srv.Client(), method, d.srv.URL+path, body, "hue-application-key: "+d.app)
}

// events returns the downstream log's events on topic pattern p.
func (d *downstream) events(p string) []eventlog.Event {
	d.t.Helper()
	var out []eventlog.Event
	after := uint64(0)
	for {
		evs, next, err := d.core.Log.Read(context.Background(), after, topic.Filter{p}, 0)
		if err != nil {
			d.t.Fatal(err)
		}
		out = append(out, evs...)
		if next == after {
			return out
		}
		after = next
	}
}

// resource reads one resource through the downstream's CLIP v2 API.
func (d *downstream) resource(rtype, id string) map[string]any {
	d.t.Helper()
	r := d.hue("GET", "/clip/v2/resource/"+rtype+"/"+id, "")
	var env struct{ Data []map[string]any }
	json.Unmarshal(r.body, &env)
	if r.status != 200 || len(env.Data) != 1 {
		return nil
	}
	return env.Data[0]
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, c *http.Client, method, url, body string, headers ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

// buttonEvents lists the button_report events the log holds for a button.
func buttonEvents(evs []eventlog.Event) []string {
	var out []string
	for _, e := range evs {
		var item struct {
			Button struct {
				Report struct{ Event, Updated string } `json:"button_report"`
			}
		}
		if json.Unmarshal(e.Data, &item) == nil && item.Button.Report.Event != "" {
			out = append(out, item.Button.Report.Event+"@"+item.Button.Report.Updated)
		}
	}
	return out
}

func brightness(o map[string]any) float64 {
	d, _ := o["dimming"].(map[string]any)
	b, _ := d["brightness"].(float64)
	return b
}

func (p *positions) get() string { p.mu.Lock(); defer p.mu.Unlock(); return p.pos }

func (r *reporter) reconnects() int { r.mu.Lock(); defer r.mu.Unlock(); return r.reconnect }
