package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// testServer is a real herald in the test process (servertest); Restart
// brings it back on the same data directory and port.
type testServer struct{ *servertest.Server }

func startServer(t testing.TB, cfg server.Config) *testServer {
	t.Helper()
	cfg.HTTPAddr = ""
	return &testServer{servertest.Start(t, cfg)}
}

func (ts *testServer) url() string { return ts.URL() }

// globals are the flags of a command run against ts: no --key, so the
// commands read the admin key from the data directory as the CLI would.
func (ts *testServer) globals() *Globals {
	return &Globals{URL: ts.url(), Data: ts.Cfg.DataDir}
}

// admin returns a client with the admin key from the data directory.
func (ts *testServer) admin() *client.Client {
	ts.T.Helper()
	c, err := newClient(ts.globals())
	if err != nil {
		ts.T.Fatal(err)
	}
	return c
}

// pollAll reads the events on topics from the start of the log until it
// has want of them, then checks for a short while that no more follow. It
// long-polls because the server's read side may lag its acknowledgements.
func pollAll(t testing.TB, c *client.Client, want int, topics ...string) []client.Event {
	t.Helper()
	var all []client.Event
	after := uint64(0)
	for {
		wait := 10 * time.Second
		if len(all) >= want {
			wait = 300 * time.Millisecond
		}
		evs, next, err := c.Poll(context.Background(), client.PollOptions{Topics: topics, After: &after, Limit: 1000, Wait: wait})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
		if len(evs) == 0 {
			return all
		}
		after = next
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing in one goroutine
// while the test reads in another.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewClientKey(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		g       Globals
		file    string // contents of <data>/admin.key; "" for none
		wantErr string
	}{
		{"flag wins", Globals{Key: "k", Data: dir + "/none"}, "", ""},
		{"admin key file", Globals{Data: filepath.Join(dir, "a")}, "secret\n", ""},
		{"no key", Globals{Data: filepath.Join(dir, "b")}, "", "no key"},
		{"empty file", Globals{Data: filepath.Join(dir, "c")}, "\n", "empty"},
		{"no scheme", Globals{Key: "k", URL: "localhost:8080"}, "", "no scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.file != "" {
				if err := os.MkdirAll(tt.g.Data, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(tt.g.Data, "admin.key"), []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tt.g.URL == "" {
				tt.g.URL = "http://localhost:8080"
			}
			_, err := newClient(&tt.g)
			if got := fmt.Sprint(err); tt.wantErr == "" && err != nil || tt.wantErr != "" && !strings.Contains(got, tt.wantErr) {
				t.Fatalf("newClient = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
