package terso

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/clocktest"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
)

// clock is the tests' stopped clock.
type clock = clocktest.Clock

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type env struct {
	t     *testing.T
	core  *dialecttest.Core
	api   *API
	clock *clock
	url   string
	admin string
}

func setup(t *testing.T, cfg Config) *env {
	t.Helper()
	return setupWith(t, cfg, nil)
}

// setupWith is setup with a hook that may replace parts of the core before
// the dialect is built on it.
func setupWith(t *testing.T, cfg Config, before func(*dialecttest.Core, *clock)) *env {
	t.Helper()
	return setupOn(t, dialecttest.Options{}, cfg, before)
}

// setupOn is setupWith on a core built with opts (e.g. a replicated log).
func setupOn(t *testing.T, opts dialecttest.Options, cfg Config, before func(*dialecttest.Core, *clock)) *env {
	t.Helper()
	clk := clocktest.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	opts.CursorNow = clk.Now
	c := dialecttest.NewCore(t, opts)
	if before != nil {
		before(c, clk)
	}
	cfg.Now = clk.Now
	api, err := New(c.Core, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := c.Serve(t, api.Mount)
	admin := c.Key(t, auth.Spec{Name: "admin", Admin: true, Publish: []string{">"}, Subscribe: []string{">"}})
	return &env{t: t, core: c, api: api, clock: clk, url: srv.URL, admin: admin}
}

// otherNode is another node on e's log: its own hub, key service, cursor
// store and dialect, serving the same users and subscriptions.
func (e *env) otherNode() *env {
	e.t.Helper()
	node, err := dialect.Open(context.Background(), e.core.Log, dialect.Config{Cursor: cursor.Config{Now: e.clock.Now}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(node.Close)
	api, err := New(node, Config{Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Mount(mux)
	srv := httptest.NewServer(mux)
	e.t.Cleanup(srv.Close)
	return &env{t: e.t, core: e.core, api: api, clock: e.clock, url: srv.URL, admin: e.admin}
}

// addUser creates a Jetstream user through the admin endpoint.
func (e *env) addUser(spec string) User {
	e.t.Helper()
	var u User
	resp := e.do("POST", "/v1/jetstream/users", map[string]string{"Authorization": "Bearer " + e.admin}, spec, &u)
	if resp.status != http.StatusCreated {
		e.t.Fatalf("add user: %d %s", resp.status, resp.body)
	}
	return u
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (e *env) do(method, path string, header map[string]string, body string, out any) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// sdk sends a request as the official .NET SDK does: the AccessKey header
// and a JSON content type on every request, even a GET.
func (e *env) sdk(method, path, accessKey, body string, out any) response {
	e.t.Helper()
	return e.do(method, path, map[string]string{"AccessKey": accessKey, "Content-Type": "application/json"}, body, out)
}

// eventsDto is the .NET SDK's EventsDto.
type eventsDto struct {
	BatchID string            `json:"BatchId"`
	Count   int               `json:"Count"`
	Events  []json.RawMessage `json:"Events"`
}

func (d eventsDto) ids(t *testing.T) []string {
	t.Helper()
	out := make([]string, len(d.Events))
	for i, raw := range d.Events {
		var ev struct{ EventId string }
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		out[i] = ev.EventId
	}
	return out
}

// append publishes Jetstream events with the given data as the log would
// get them from the simulator: the draft id is the EventId.
func (e *env) append(device, typ string, data ...string) []eventlog.Ack {
	e.t.Helper()
	ds := make([]eventlog.Draft, len(data))
	for i, d := range data {
		var h struct{ EventId string }
		_ = json.Unmarshal([]byte(d), &h)
		ds[i] = eventlog.Draft{ID: h.EventId, Topic: Topic(device, typ), Type: TypeName(typ), Data: json.RawMessage(d)}
	}
	acks, err := e.core.Append(context.Background(), Dialect, ds)
	if err != nil {
		e.t.Fatal(err)
	}
	return acks
}

// heartbeat returns a complete HeartbeatEvent with the given EventId.
func heartbeat(device, id string) string {
	return `{"Device":"` + device + `","ReceivedTime":"2018-05-19T06:14:59Z","Type":"HeartbeatEvent","EventId":"` + id +
		`","EventTime":"2018-05-19T06:14:30Z","Version":2}`
}

// guid returns a fixed GUID numbered n.
func guid(n int) string {
	const base = "00000000-0000-4000-8000-000000000000"
	s := []byte(base)
	d := []byte(strings.Repeat("0", 12) + itoa(n))
	copy(s[24:], d[len(d)-12:])
	return string(s)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

var batchIDPattern = regexp.MustCompile(`"BatchId":"[0-9a-f-]{36}"`)

// golden compares got with testdata/name, after replacing the random batch
// id; -update rewrites the file.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = batchIDPattern.ReplaceAll(got, []byte(`"BatchId":"<batch>"`))
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s: not JSON: %v: %s", name, err, got)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, pretty.Bytes(), want)
	}
}
