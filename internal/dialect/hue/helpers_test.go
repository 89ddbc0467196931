package hue

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// bridge is a Hue dialect served over HTTP on a fresh core.
type bridge struct {
	t     testing.TB
	core  *dialecttest.Core
	api   *API
	url   string
	admin string // native admin key
	app   string // hue application key
}

func newBridge(t testing.TB, cfg Config) *bridge {
	t.Helper()
	return newBridgeOn(t, dialecttest.Options{}, cfg)
}

// newBridgeOn is newBridge on a core built with opts (e.g. a small
// retention).
func newBridgeOn(t testing.TB, opts dialecttest.Options, cfg Config) *bridge {
	t.Helper()
	c := dialecttest.NewCore(t, opts)
	if cfg.BatchWindow == 0 {
		cfg.BatchWindow = -1 // deterministic messages unless a test asks
	}
	api, err := New(c.Core, cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := c.Serve(t, api.Mount)
	b := &bridge{t: t, core: c, api: api, url: srv.URL,
		admin: c.Key(t, auth.Spec{Name: "admin", Admin: true})}
	b.app = b.pair()
	return b
}

// resp is an HTTP answer with its body read.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d %q: %v", r.status, r.body, err)
	}
}

// do sends a request; headers are "Name: value" strings.
func (b *bridge) do(method, path, body string, headers ...string) resp {
	b.t.Helper()
	req, err := http.NewRequest(method, b.url+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, data}
}

// hue sends a CLIP v2 request with the application key.
func (b *bridge) hue(method, path, body string) resp {
	b.t.Helper()
	return b.do(method, path, body, appKeyHeader+": "+b.app)
}

// adminDo sends an admin request and fails the test unless it succeeds.
func (b *bridge) adminDo(path, body string) resp {
	b.t.Helper()
	r := b.do("POST", path, body, "Authorization: Bearer "+b.admin)
	if r.status/100 != 2 {
		b.t.Fatalf("POST %s: %d %s", path, r.status, r.body)
	}
	return r
}

// pair presses the link button and pairs an application.
func (b *bridge) pair() string {
	b.t.Helper()
	b.adminDo("/v1/hue/link", "")
	r := b.do("POST", "/api", `{"devicetype":"test#runner","generateclientkey":true}`)
	var out []struct {
		Success struct{ Username, Clientkey string }
	}
	r.decode(b.t, &out)
	if len(out) != 1 || out[0].Success.Username == "" {
		b.t.Fatalf("pair: %s", r.body)
	}
	return out[0].Success.Username
}

// resources lists resources (all, or of one type).
func (b *bridge) resources(rtype string) []object {
	b.t.Helper()
	path := "/clip/v2/resource"
	if rtype != "" {
		path += "/" + rtype
	}
	r := b.hue("GET", path, "")
	var env struct {
		Errors []hueError
		Data   []object
	}
	r.decode(b.t, &env)
	if r.status != 200 || len(env.Errors) != 0 {
		b.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return env.Data
}

// addDevice adds a catalogue product and returns its resources by type.
func (b *bridge) addDevice(product, name string) map[string][]string {
	b.t.Helper()
	r := b.adminDo("/v1/hue/devices", `{"product":"`+product+`","name":"`+name+`"}`)
	var env struct{ Data []ref }
	r.decode(b.t, &env)
	out := map[string][]string{}
	for _, x := range env.Data {
		out[x.RType] = append(out[x.RType], x.RID)
	}
	return out
}

// hueEvent is an Event object of the stream.
type hueEvent struct {
	ID           string   `json:"id"`
	Type         string   `json:"type"`
	CreationTime string   `json:"creationtime"`
	Data         []object `json:"data"`
}

// message is one SSE message as aiohue sees it.
type message struct {
	id     string
	events []hueEvent
}

// aiohueStream opens the event stream and parses it the way aiohue does
// (aiohue/v2/controllers/events.py): line by line, stripped; lines without
// ":" skipped; comments ignored; "id" kept verbatim; every "data" line must
// be one JSON array of events whose type is add, update or delete. A line
// that breaks these rules fails the test.
func (b *bridge) aiohueStream(ctx context.Context, headers ...string) <-chan message {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.url+"/eventstream/clip/v2", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set(appKeyHeader, b.app)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		res.Body.Close()
		b.t.Fatalf("event stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	ch := make(chan message, 100)
	errs := make(chan string, 1)
	go func() {
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var id string
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || !strings.Contains(line, ":") {
				continue
			}
			key, value, _ := strings.Cut(line, ":")
			switch key {
			case "":
				// comment (": hi", keep-alives)
			case "id":
				id = value
			case "data":
				var evs []hueEvent
				if err := json.Unmarshal([]byte(value), &evs); err != nil {
					errs <- "data line is not a JSON array: " + value
					return
				}
				for _, e := range evs {
					if e.Type != "add" && e.Type != "update" && e.Type != "delete" {
						errs <- "event type " + e.Type
						return
					}
				}
				ch <- message{id: strings.TrimSpace(id), events: evs}
			}
		}
	}()
	b.t.Cleanup(func() {
		select {
		case e := <-errs:
			b.t.Errorf("aiohue parser: %s", e)
		default:
		}
	})
	return ch
}

// collect reads items from the stream until n have arrived.
func collect(t testing.TB, ch <-chan message, n int) (items []object, msgs []message) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for len(items) < n {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended after %d of %d items", len(items), n)
			}
			msgs = append(msgs, m)
			for _, e := range m.events {
				items = append(items, e.Data...)
			}
		case <-timeout:
			t.Fatalf("got %d of %d items", len(items), n)
		}
	}
	return items, msgs
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs:\n got: %s\nwant: %s", name, got, want)
	}
}

// rawStream opens the event stream and sends each line as it arrives,
// unparsed, so a test sees comments and the exact framing. The channel
// closes when the stream ends.
func (b *bridge) rawStream(ctx context.Context, headers ...string) (*http.Response, <-chan string) {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.url+"/eventstream/clip/v2", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set(appKeyHeader, b.app)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	ch := make(chan string, 100)
	go func() {
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return res, ch
}

// nextLine returns the next line of a raw stream that is not empty, or
// fails the test after wait.
func nextLine(t testing.TB, ch <-chan string, wait time.Duration) string {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatal("stream ended")
			}
			if l != "" {
				return l
			}
		case <-timeout:
			t.Fatalf("no line within %s", wait)
		}
	}
}

// flatten lists the Event objects of messages in order.
func flatten(msgs []message) []hueEvent {
	var out []hueEvent
	for _, m := range msgs {
		out = append(out, m.events...)
	}
	return out
}
