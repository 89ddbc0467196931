package zulip

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/clocktest"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/hub"
)

// clock is the tests' stopped clock.
type clock = clocktest.Clock

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// env is a Zulip dialect served over HTTP on a real core.
type env struct {
	t     testing.TB
	core  *dialecttest.Core
	api   *API
	srv   *httptest.Server
	clock *clock
	admin string
	// hub is the tail this env's API answers from: the core's for the
	// first node, its own for every other.
	hub *hub.Hub
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	return newEnvWith(t, cfg, dialecttest.Options{})
}

// newEnvWith is newEnv on a core built with opts (a log with retention,
// say); the cursor clock is the env's.
func newEnvWith(t testing.TB, cfg Config, opts dialecttest.Options) *env {
	t.Helper()
	clk := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	opts.CursorNow = clk.Now
	c := dialecttest.NewCore(t, opts)
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = time.Hour // tests that want a heartbeat set it; the rest must not see one
	}
	api, err := New(c.Core, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, core: c, api: api, clock: clk, hub: c.Hub}
	e.srv = c.Serve(t, api.Mount)
	e.admin = c.Key(t, auth.Spec{Name: "admin", Admin: true})
	return e
}

// node returns a second herald node on e's engine: its own Zulip API
// (its own polls in flight) and cursor store, served on its own address.
func (e *env) node(cfg Config) *env {
	e.t.Helper()
	core, err := dialect.Open(context.Background(), e.core.Log, dialect.Config{Cursor: cursor.Config{Now: e.clock.Now}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(core.Close)
	return e.nodeOn(core, cfg)
}

// nodeOn is node over a core of the caller's, on e's engine.
func (e *env) nodeOn(core *dialect.Core, cfg Config) *env {
	e.t.Helper()
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = time.Hour
	}
	api, err := New(core, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Mount(mux)
	srv := httptest.NewServer(mux)
	e.t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &env{t: e.t, core: e.core, api: api, srv: srv, clock: e.clock, admin: e.admin, hub: core.Hub}
}

// zuser is a Zulip user with their credentials.
type zuser struct {
	ID    int64
	Email string
	Key   string
}

// addUser creates a user through the admin endpoint.
func (e *env) addUser(email, name string) zuser {
	e.t.Helper()
	var v UserView
	st := e.adminDo("POST", "/v1/zulip/users", fmt.Sprintf(`{"email":%q,"full_name":%q}`, email, name), &v)
	if st != http.StatusCreated || v.APIKey == "" {
		e.t.Fatalf("add user %s: %d %+v", email, st, v)
	}
	return zuser{ID: v.UserID, Email: email, Key: v.APIKey}
}

func (e *env) addStream(name string) {
	e.t.Helper()
	if st := e.adminDo("POST", "/v1/zulip/streams", fmt.Sprintf(`{"name":%q,"description":"**%s** talk"}`, name, name), nil); st != http.StatusCreated {
		e.t.Fatalf("add stream %s: %d", name, st)
	}
}

func (e *env) adminDo(method, path, body string, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

// resp is an answer of the Zulip API.
type resp struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

func (r resp) str(k string) string { s, _ := r.Body[k].(string); return s }

func (r resp) events() []map[string]any {
	l, _ := r.Body["events"].([]any)
	out := make([]map[string]any, len(l))
	for i, v := range l {
		out[i], _ = v.(map[string]any)
	}
	return out
}

// encoding is how a request carries its parameters.
type encoding int

const (
	query         encoding = iota // the query string (GET; zulip-js's DELETE)
	form                          // form-urlencoded body (python-zulip-api)
	multipartBody                 // multipart body (zulip-js's POST)
)

// call sends a Zulip API request as u with params encoded as enc.
func (e *env) call(ctx context.Context, u zuser, method, path string, params url.Values, enc encoding) resp {
	e.t.Helper()
	target := e.srv.URL + path
	var body io.Reader
	ctype := ""
	switch enc {
	case query:
		if len(params) > 0 {
			target += "?" + params.Encode()
		}
	case form:
		body, ctype = strings.NewReader(params.Encode()), "application/x-www-form-urlencoded"
	case multipartBody:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		keys := make([]string, 0, len(params))
		for k := range params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			mw.WriteField(k, params.Get(k))
		}
		mw.Close()
		body, ctype = &buf, mw.FormDataContentType()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", "ZulipPython/0.9.0 (Ubuntu; 22.04)")
	if u.Email != "" {
		req.SetBasicAuth(u.Email, u.Key)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) resp {
	res, err := e.srv.Client().Do(req)
	if err != nil {
		return resp{Status: -1, Raw: err.Error()}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{Status: res.StatusCode, Header: res.Header, Raw: string(b)}
	json.Unmarshal(b, &r.Body)
	return r
}

func (e *env) register(u zuser, params url.Values) string {
	e.t.Helper()
	r := e.call(context.Background(), u, "POST", "/api/v1/register", params, form)
	if r.Status != 200 || r.str("queue_id") == "" {
		e.t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	return r.str("queue_id")
}

func (e *env) poll(ctx context.Context, u zuser, qid string, last int64, dontBlock bool) resp {
	return e.call(ctx, u, "GET", "/api/v1/events", url.Values{
		"queue_id": {qid}, "last_event_id": {fmt.Sprint(last)}, "dont_block": {fmt.Sprint(dontBlock)},
	}, query)
}

func (e *env) sendStream(u zuser, stream, topic, content string) int64 {
	e.t.Helper()
	r := e.call(context.Background(), u, "POST", "/api/v1/messages", url.Values{
		"type": {"stream"}, "to": {stream}, "topic": {topic}, "content": {content}}, form)
	if r.Status != 200 {
		e.t.Fatalf("send: %d %s", r.Status, r.Raw)
	}
	return int64(r.Body["id"].(float64))
}

// waitPolling waits until a poll on the queue is registered on this node:
// an ordering, not a timing, condition.
// A poll that ends first fails the test with its answer.
func (e *env) waitPolling(qid string, polling <-chan resp) {
	e.t.Helper()
	id, _ := queueCursorID("zulip", qid)
	for {
		if e.api.polls.polling(id) {
			return
		}
		select {
		case r := <-polling:
			e.t.Fatalf("poll ended before it blocked: %d %s", r.Status, r.Raw)
		default:
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// golden compares v, as indented JSON, with testdata/name.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// scrub returns a copy of v with the values that change from run to run
// replaced by placeholders.
func scrub(v any, keys ...string) any {
	b, _ := json.Marshal(v)
	var c any
	json.Unmarshal(b, &c)
	return scrubInPlace(c, keys...)
}

func scrubInPlace(v any, keys ...string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if slices.Contains(keys, k) {
				x[k] = "<" + k + ">"
			} else {
				scrubInPlace(val, keys...)
			}
		}
	case []any:
		for _, val := range x {
			scrubInPlace(val, keys...)
		}
	}
	return v
}

func basic(email, key string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+key))
}

// waitTailed waits until this node's hub has every event the log holds: a
// blocking poll takes its events from the tail, so a test that asserts
// what one poll returns after several sends waits for the tail first.
func (e *env) waitTailed(t testing.TB) {
	t.Helper()
	_, last, err := e.core.Log.Bounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.waitHub(t, last)
}

// waitHub waits, asking nothing of the engine, until e's hub has seq.
func (e *env) waitHub(t testing.TB, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.hub.Last() < seq {
		if time.Now().After(deadline) {
			t.Fatalf("the tail stopped at %d of %d", e.hub.Last(), seq)
		}
		time.Sleep(time.Millisecond)
	}
}
