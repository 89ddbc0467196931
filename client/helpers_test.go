package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

// testServer is a real herald running in the test process. restart stops
// it and starts a new one on the same data directory and port.
type testServer struct {
	t     testing.TB
	cfg   server.Config
	srv   *server.Server
	admin string // the admin token, kept across restarts
}

func startServer(t testing.TB, cfg server.Config) *testServer {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = "127.0.0.1:0"
	}
	ts := &testServer{t: t, cfg: cfg}
	ts.start()
	ts.admin = ts.srv.AdminKey()
	if ts.admin == "" {
		t.Fatal("a fresh server made no admin key")
	}
	// Pin the port so that a restart comes back at the same URL.
	ts.cfg.HTTPAddr = strings.TrimPrefix(ts.srv.URL, "http://")
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) start() {
	ts.t.Helper()
	srv, err := server.Start(context.Background(), ts.cfg)
	if err != nil {
		ts.t.Fatalf("start server: %v", err)
	}
	ts.srv = srv
}

func (ts *testServer) stop() {
	if ts.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		ts.t.Errorf("shutdown: %v", err)
	}
	ts.srv = nil
}

func (ts *testServer) restart() {
	ts.t.Helper()
	ts.stop()
	ts.start()
}

// URL is the base URL; it stays the same across restarts.
func (ts *testServer) URL() string { return "http://" + ts.cfg.HTTPAddr }

// adminClient returns a client with the admin key.
func (ts *testServer) adminClient() *client.Client {
	return client.New(ts.URL(), ts.admin)
}

// keyClient creates a key from spec and returns a client using it.
func (ts *testServer) keyClient(spec client.KeySpec) *client.Client {
	ts.t.Helper()
	_, token, err := ts.adminClient().CreateKey(context.Background(), spec)
	if err != nil {
		ts.t.Fatalf("create key %q: %v", spec.Name, err)
	}
	return client.New(ts.URL(), token)
}

// drafts returns n drafts on topic with data {"n":from+i} and fresh ids.
func drafts(topic string, from, n int) []client.Draft {
	ds := make([]client.Draft, n)
	for i := range ds {
		ds[i] = client.Draft{
			Topic: topic,
			Type:  "test",
			Data:  json.RawMessage(fmt.Sprintf(`{"n":%d}`, from+i)),
			ID:    client.NewID(),
		}
	}
	return ds
}

// publish publishes ds and fails the test on error.
func publish(t testing.TB, c *client.Client, ds ...client.Draft) []client.Ack {
	t.Helper()
	acks, err := c.Publish(context.Background(), ds...)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return acks
}

// waitVisible waits until event seq can be read. The server acknowledges
// a publish once the log stored it; its read side follows a moment later.
func waitVisible(t testing.TB, c *client.Client, seq uint64) {
	t.Helper()
	evs, _, err := c.Poll(context.Background(), client.PollOptions{After: new(seq - 1), Limit: 1, Wait: 10 * time.Second})
	if err != nil || len(evs) != 1 || evs[0].Seq != seq {
		t.Fatalf("event %d not readable: %v, %v", seq, evs, err)
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
