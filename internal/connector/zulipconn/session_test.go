package zulipconn_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/connector/zulipconn"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/zulip"
	"github.com/herald-io/herald/internal/topic"
)

// fakeZulip is a Zulip server with one identity (bot@example.com, key
// "secret") and one queue holding events.
type fakeZulip struct {
	mu     sync.Mutex
	events []string // the queue's events, ids 0, 1, …
}

func (f *fakeZulip) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if email, key, _ := r.BasicAuth(); email != "bot@example.com" || key != "secret" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"result":"error","msg":"Invalid API key","code":"INVALID_API_KEY"}`)
		return
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /api/v1/users/me":
		fmt.Fprint(w, `{"result":"success","msg":"","user_id":7,"email":"bot@example.com","full_name":"Bot","is_bot":true}`)
	case "POST /api/v1/register":
		fmt.Fprint(w, `{"result":"success","msg":"","queue_id":"q1","last_event_id":-1}`)
	case "GET /api/v1/events":
		last, _ := strconv.Atoi(r.URL.Query().Get("last_event_id"))
		f.mu.Lock()
		var evs []json.RawMessage
		for i := last + 1; i < len(f.events); i++ {
			evs = append(evs, json.RawMessage(f.events[i]))
		}
		f.mu.Unlock()
		if len(evs) == 0 && r.URL.Query().Get("dont_block") != "true" {
			select { // a short long-poll
			case <-r.Context().Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		b, _ := json.Marshal(map[string]any{"result": "success", "msg": "", "events": append([]json.RawMessage{}, evs...)})
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

// flakyPositions fails its Store calls numbered in fail (1-based).
type flakyPositions struct {
	mu    sync.Mutex
	pos   string
	calls int
	fail  map[int]bool
}

func (p *flakyPositions) Load(context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos, nil
}

func (p *flakyPositions) stores() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

func (p *flakyPositions) Store(_ context.Context, pos string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.fail[p.calls] {
		return errors.New("engine unavailable")
	}
	p.pos = pos
	return nil
}

type reporter struct {
	mu       sync.Mutex
	ingested int
	errs     []error
}

func (r *reporter) Connected(bool) {}
func (r *reporter) Ingested(n int, _ time.Time) {
	r.mu.Lock()
	r.ingested += n
	r.mu.Unlock()
}
func (r *reporter) Failed(err error) { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }
func (r *reporter) Reconnecting()    {}

func (r *reporter) state() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ingested, len(r.errs)
}

// run runs a connector of the kind against url until stop, or the test's
// end.
func run(t *testing.T, c *dialecttest.Core, url, key string, pos connector.Positions, rep connector.Reporter) (done <-chan error, stop func()) {
	api, err := zulip.New(c.Core, zulip.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	result, exited := make(chan error, 1), make(chan struct{})
	spec := connector.Spec{Name: "chat", Kind: "zulip", URL: url, Email: "bot@example.com", Key: key}
	client := connector.HTTPClient(spec)
	go func() {
		defer close(exited)
		result <- zulipconn.New(api).Run(ctx, connector.Env{Core: c.Core, Spec: spec, Report: rep, Positions: pos,
			HTTP: client, Logger: c.Logger})
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-exited
			client.CloseIdleConnections()
		})
	}
	t.Cleanup(stop)
	return result, stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The node crashes after an append, before the position is stored: the
// next run polls the same events again, and the ids derived from the
// upstream's keep them once in the log.
func TestRetriedAppendStoredOnce(t *testing.T) {
	up := &fakeZulip{events: []string{
		`{"type":"message","id":0,"flags":[],"message":{"id":1,"type":"stream","content":"a","sender_id":3}}`,
		`{"type":"heartbeat","id":1}`,
		`{"type":"message","id":2,"flags":[],"message":{"id":2,"type":"stream","content":"b","sender_id":3}}`,
	}}
	srv := httptest.NewServer(up)
	defer srv.Close()
	c := dialecttest.NewCore(t, dialecttest.Options{})
	rep := &reporter{}
	pos := &flakyPositions{fail: map[int]bool{2: true}} // 1: after register; 2: after the first answer
	_, stop := run(t, c, srv.URL, "secret", pos, rep)
	waitFor(t, "the failed store", func() bool { _, errs := rep.state(); return errs > 0 })
	stop() // the crash
	if n, _ := rep.state(); n != 2 {
		t.Fatalf("the first run ingested %d", n)
	}
	run(t, c, srv.URL, "secret", pos, rep)
	waitFor(t, "the position after the events", func() bool {
		stored, _ := pos.Load(context.Background())
		var p struct {
			LastEventID int64 `json:"last_event_id"`
		}
		return json.Unmarshal([]byte(stored), &p) == nil && p.LastEventID == 2
	})
	evs, _, err := c.Log.Read(context.Background(), 0, topic.Filter{"zulip.>"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Topic != "zulip.chat.message" || evs[1].Topic != "zulip.chat.message" {
		t.Fatalf("the log holds %d events: %+v", len(evs), evs)
	}
	if n, _ := rep.state(); n != 2 {
		t.Fatalf("ingested %d", n)
	}
}

// A key the upstream refuses stops the connector.
func TestRefusedStops(t *testing.T) {
	srv := httptest.NewServer(&fakeZulip{})
	defer srv.Close()
	c := dialecttest.NewCore(t, dialecttest.Options{})
	done, _ := run(t, c, srv.URL, "wrong", &flakyPositions{}, &reporter{})
	select {
	case err := <-done:
		if !errors.Is(err, connector.ErrStopped) {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the connector did not stop")
	}
}
