package jetstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/connector/jetstream"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/topic"
)

// upstream is a scripted Jetstream API: it serves its pending events as one
// batch until that batch is deleted, and answers as the test says.
type upstream struct {
	mu      sync.Mutex
	pending []string // events as JSON
	batch   string
	failDel int         // DELETEs still to answer 500
	status  []int       // statuses of the next GETs, before any batch
	gets    []time.Time // when each GET came
	deletes int         // successful DELETEs
}

func event(i int) string {
	return fmt.Sprintf(`{"Device":"cab","ReceivedTime":"2025-01-02T03:04:05Z","Type":"HeartbeatEvent","EventId":"00000000-0000-4000-8000-%012d","EventTime":"2025-01-02T03:04:%02dZ","Version":2}`, i, i%60)
}

func (u *upstream) add(batch string, from, to int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := from; i < to; i++ {
		u.pending = append(u.pending, event(i))
	}
	u.batch = batch
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if r.Header.Get("AccessKey") != "the-key" {
		w.WriteHeader(401)
		return
	}
	switch r.Method {
	case "GET":
		u.gets = append(u.gets, time.Now())
		if len(u.status) > 0 {
			st := u.status[0]
			u.status = u.status[1:]
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(st)
			return
		}
		fmt.Fprintf(w, `{"BatchId":%q,"Count":%d,"Events":[`, u.batch, len(u.pending))
		for i, e := range u.pending {
			if i > 0 {
				io.WriteString(w, ",")
			}
			io.WriteString(w, e)
		}
		io.WriteString(w, "]}")
	case "DELETE":
		var body struct{ BatchId string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if u.failDel > 0 {
			u.failDel--
			w.WriteHeader(500)
			return
		}
		if body.BatchId == u.batch {
			u.pending, u.deletes = nil, u.deletes+1
		}
		w.WriteHeader(204)
	}
}

func (u *upstream) deleted() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.deletes
}

// memPositions keeps a position in memory.
type memPositions struct {
	mu  sync.Mutex
	pos string
}

func (p *memPositions) Load(context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos, nil
}

func (p *memPositions) Store(_ context.Context, pos string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pos = pos
	return nil
}

type nopReporter struct{}

func (nopReporter) Connected(bool)          {}
func (nopReporter) Ingested(int, time.Time) {}
func (nopReporter) Failed(error)            {}
func (nopReporter) Reconnecting()           {}

// run runs the kind against u until stop is called.
func run(t *testing.T, c *dialecttest.Core, u *upstream, pos connector.Positions, key string) (stop func() error) {
	t.Helper()
	return runReporting(t, c, u, pos, key, nopReporter{})
}

// runReporting is run with the connector's reports going to rep.
func runReporting(t *testing.T, c *dialecttest.Core, u *upstream, pos connector.Positions, key string, rep connector.Reporter) (stop func() error) {
	t.Helper()
	srv := httptest.NewServer(u)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	k := &jetstream.Kind{Poll: 5 * time.Millisecond}
	go func() {
		done <- k.Run(ctx, connector.Env{Core: c.Core, Report: rep, Positions: pos, HTTP: srv.Client(),
			Logger: slog.New(slog.DiscardHandler),
			Spec:   connector.Spec{Name: "t", Kind: "jetstream", URL: srv.URL, Key: key}})
	}()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
			srv.Close()
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// appends counts the core's append calls.
func appends(c *dialecttest.Core) uint64 {
	var m dto.Metric
	_ = c.Metrics.AppendSeconds.Write(&m)
	return m.GetHistogram().GetSampleCount()
}

func stored(t *testing.T, c *dialecttest.Core) []string {
	t.Helper()
	f, _ := topic.NewFilter([]string{"jetstream.>"})
	evs, _, err := c.Log.Read(t.Context(), 0, f, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = string(e.Data)
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A batch read again — its delete failed, or the connector restarted
// before it — is not appended again, even past the engine's dedupe window:
// the stored position names its last event. A batch formed again with
// more events appends only those.
func TestBatchReadAgainIsNotAppendedAgain(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	u := &upstream{failDel: 3}
	u.add("b1", 0, 3)
	pos := &memPositions{}
	stop := run(t, c, u, pos, "the-key")
	waitFor(t, "the batch to be deleted", func() bool { return u.deleted() == 1 })
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if n := appends(c); n != 1 {
		t.Fatalf("%d appends for one batch read four times", n)
	}
	// Restarted before the delete of a batch that grew meanwhile.
	u.add("b1", 0, 3)
	u.add("b2", 3, 5)
	u.failDel = 1
	stop = run(t, c, u, pos, "the-key")
	waitFor(t, "the grown batch to be deleted", func() bool { return u.deleted() == 2 })
	stop()
	if n := appends(c); n != 2 {
		t.Fatalf("%d appends, want 2", n)
	}
	got := stored(t, c)
	for i := range 5 {
		if i >= len(got) || got[i] != event(i) {
			t.Fatalf("stored %d events %v", len(got), got)
		}
	}
	if len(got) != 5 {
		t.Fatalf("stored %d events, want 5", len(got))
	}
}

// 429 with Retry-After: the connector waits as long as it was told.
func TestRetryAfterIsHonoured(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	u := &upstream{status: []int{429}}
	stop := run(t, c, u, &memPositions{}, "the-key")
	waitFor(t, "a second GET", func() bool { u.mu.Lock(); defer u.mu.Unlock(); return len(u.gets) >= 2 })
	stop()
	u.mu.Lock()
	defer u.mu.Unlock()
	if gap := u.gets[1].Sub(u.gets[0]); gap < time.Second {
		t.Fatalf("asked again %v after a 429 with Retry-After: 1", gap)
	}
}

// A refused key stops the connector.
func TestRefusedKeyStops(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	srv := httptest.NewServer(&upstream{})
	defer srv.Close()
	err := (&jetstream.Kind{}).Run(t.Context(), connector.Env{Core: c.Core, Report: nopReporter{}, Positions: &memPositions{},
		HTTP: srv.Client(), Logger: slog.New(slog.DiscardHandler),
		Spec: connector.Spec{Name: "t", Kind: "jetstream", URL: srv.URL, Key: "wrong"}})
	if !errors.Is(err, connector.ErrStopped) {
		t.Fatalf("Run = %v, want ErrStopped", err)
	}
}
