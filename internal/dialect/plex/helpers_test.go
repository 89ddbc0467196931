package plex

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
)

// env is a Plex API served over a real core, with an admin key and a Plex
// token.
type env struct {
	t     testing.TB
	core  *dialecttest.Core
	api   *API
	srv   *httptest.Server
	admin string
	token string
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	return newEnvOn(t, dialecttest.Options{}, cfg)
}

// newEnvOn is newEnv on a core built with opts.
func newEnvOn(t testing.TB, opts dialecttest.Options, cfg Config) *env {
	t.Helper()
	c := dialecttest.NewCore(t, opts)
	api, err := New(c.Core, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, core: c, api: api}
	e.srv = c.Serve(t, api.Mount)
	e.admin = c.Key(t, auth.Spec{Name: "admin", Admin: true, Publish: []string{">"}, Subscribe: []string{">"}})
	e.token = c.Key(t, auth.Spec{Name: "plex", Dialect: Dialect, Subscribe: []string{"plex.>"}})
	return e
}

// publish appends notifications of the given types with small bare bodies
// and returns their sequences.
func (e *env) publish(types ...string) []uint64 {
	e.t.Helper()
	ds := make([]eventlog.Draft, len(types))
	for i, typ := range types {
		ds[i] = eventlog.Draft{Topic: TopicPrefix + typ, Type: typ, Data: json.RawMessage(`{"n":` + itoa(i) + `}`)}
	}
	return e.appendDrafts(ds)
}

func (e *env) appendDrafts(ds []eventlog.Draft) []uint64 {
	e.t.Helper()
	acks, err := e.core.Append(context.Background(), "plex", ds)
	if err != nil {
		e.t.Fatal(err)
	}
	seqs := make([]uint64, len(acks))
	for i, a := range acks {
		seqs[i] = a.Seq
	}
	return seqs
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// get sends a GET with optional headers ("Name: value").
func (e *env) get(path string, headers ...string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Add(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// post sends a JSON body with a bearer key and decodes the answer into out.
func (e *env) post(path, key, body string, out any) int {
	e.t.Helper()
	return e.call("POST", path, key, body, out)
}

// call sends method path with body and key as Bearer, and decodes a JSON
// answer into out (if not nil).
func (e *env) call(method, path, key, body string, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

// sseFrame is one parsed EventSource message, with its raw text.
type sseFrame struct {
	id, event, data string
	hasID           bool
	raw             string
}

// sse opens the EventSource stream and returns its frames; the stream is
// closed when the test ends.
func (e *env) sse(query string, headers ...string) (*http.Response, <-chan sseFrame) {
	e.t.Helper()
	resp := e.get("/:/eventsource/notifications?"+query, headers...)
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return resp, nil
	}
	ch := readSSE(resp.Body)
	e.t.Cleanup(func() {
		resp.Body.Close()
		for range ch { // the reader ends once the body is closed
		}
	})
	return resp, ch
}

func readSSE(r io.Reader) <-chan sseFrame {
	ch := make(chan sseFrame, 4096)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var f sseFrame
		for sc.Scan() {
			line := sc.Text()
			f.raw += line + "\n"
			switch {
			case line == "":
				ch <- f
				f = sseFrame{}
			case strings.HasPrefix(line, "id: "):
				f.id, f.hasID = line[4:], true
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				f.data += line[6:]
			}
		}
	}()
	return ch
}

// nextFrame returns the next frame that is not a heartbeat.
func nextFrame(t *testing.T, ch <-chan sseFrame) sseFrame {
	t.Helper()
	for f := range ch {
		if f.event != "ping" {
			return f
		}
	}
	t.Fatal("stream ended")
	return sseFrame{}
}

// dial opens the WebSocket at path; it is closed when the test ends.
func (e *env) dial(path string, header http.Header) *websocket.Conn {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+path, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		e.t.Fatalf("dial %s: %d %v", path, status, err)
	}
	e.t.Cleanup(func() { c.CloseNow() })
	return c
}

// dialStatus tries to open a WebSocket and returns the HTTP status of the
// refusal (0 if it was accepted).
func (e *env) dialStatus(path string) int {
	e.t.Helper()
	c, resp, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(e.srv.URL, "http")+path, nil)
	if err == nil {
		c.CloseNow()
		return 0
	}
	if resp == nil {
		e.t.Fatalf("dial %s: %v", path, err)
	}
	return resp.StatusCode
}

type container struct {
	NotificationContainer map[string]json.RawMessage
}

// readWS reads one frame and returns it raw and decoded.
func readWS(t *testing.T, c *websocket.Conn) ([]byte, map[string]json.RawMessage) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("frame type %v, want text", typ)
	}
	var m container
	if err := json.Unmarshal(b, &m); err != nil || m.NotificationContainer == nil {
		t.Fatalf("frame %s is not a NotificationContainer: %v", b, err)
	}
	return b, m.NotificationContainer
}

func wsType(t *testing.T, nc map[string]json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(nc["type"], &s); err != nil {
		t.Fatalf("type: %v", err)
	}
	return s
}
