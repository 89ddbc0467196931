package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/webhook"
)

// env is a core with the webhooks service, allowed to reach loopback
// (where the tests' receivers are), and an admin key.
type env struct {
	c     *dialecttest.Core
	svc   *webhook.Service
	admin *auth.Key
}

// fast is a schedule for tests: every wait a millisecond.
var fast = []time.Duration{0, time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond}

func newEnv(t testing.TB, cfg webhook.Config) *env {
	t.Helper()
	c := dialecttest.NewCore(t, dialecttest.Options{})
	if cfg.Policy.Allow == nil {
		cfg.Policy.AllowPrivate = true
	}
	if cfg.Schedule == nil {
		cfg.Schedule = fast
	}
	if cfg.CommitEvery == 0 {
		cfg.CommitEvery = 10 * time.Millisecond
	}
	svc, err := webhook.Open(context.Background(), c.Core, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return &env{c: c, svc: svc, admin: key(t, c, auth.Spec{Name: "admin", Admin: true})}
}

func key(t testing.TB, c *dialecttest.Core, spec auth.Spec) *auth.Key {
	t.Helper()
	k, err := c.Auth.Authenticate(context.Background(), c.Key(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// publish appends n events on topic and returns their sequences.
func (e *env) publish(t testing.TB, topic string, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for n > 0 {
		batch := min(n, 500)
		ds := make([]eventlog.Draft, batch)
		for i := range ds {
			ds[i] = eventlog.Draft{Topic: topic, Type: "test", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, len(seqs)+i))}
		}
		acks, err := e.c.Append(context.Background(), "native", ds)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range acks {
			seqs = append(seqs, a.Seq)
		}
		n -= batch
	}
	return seqs
}

func (e *env) create(t testing.TB, spec string) webhook.Created {
	t.Helper()
	s, err := webhook.ParseSpec([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Create(context.Background(), e.admin, s)
	if err != nil {
		t.Fatalf("create %s: %v", spec, err)
	}
	return c
}

// got is one request a receiver got.
type got struct {
	id, ts, sig string
	header      http.Header
	body        []byte
	ev          struct {
		Seq   uint64          `json:"seq"`
		ID    string          `json:"id"`
		Time  time.Time       `json:"time"`
		Topic string          `json:"topic"`
		Type  string          `json:"type"`
		Data  json.RawMessage `json:"data"`
	}
	at time.Time
}

// receiver is an endpoint on loopback that keeps what it gets and answers
// what answer says for the n-th request (from 1).
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []got
	answer func(n int, w http.ResponseWriter) int
}

func newReceiver(t testing.TB, answer func(n int, w http.ResponseWriter) int) *receiver {
	rc := &receiver{t: t, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		g := got{id: r.Header.Get("webhook-id"), ts: r.Header.Get("webhook-timestamp"),
			sig: r.Header.Get("webhook-signature"), header: r.Header.Clone(), body: b, at: time.Now()}
		if err := json.Unmarshal(b, &g.ev); err != nil {
			t.Errorf("receiver: body %q: %v", b, err)
		}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, g)
		n := len(rc.reqs)
		rc.mu.Unlock()
		status := 200
		if rc.answer != nil {
			status = rc.answer(n, w)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "answer %d", n)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() []got {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]got(nil), rc.reqs...)
}

// waitFor polls cond until it holds; the timeout only guards against a hang.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
