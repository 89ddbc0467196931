package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

func TestPublishOne(t *testing.T) {
	ts := startServer(t, server.Config{})
	tests := []struct {
		name    string
		cmd     PublishCmd
		wantErr string
		want    client.Event // Seq 0: not stored
	}{
		{"full", PublishCmd{Topic: "app.door", Type: "opened", Payload: `{"by": "bob"}`, ID: "d-1"}, "",
			client.Event{Topic: "app.door", Type: "opened", Data: json.RawMessage(`{"by":"bob"}`), ID: "d-1"}},
		{"defaults", PublishCmd{Topic: "app.bare"}, "",
			client.Event{Topic: "app.bare", Type: "event", Data: json.RawMessage(`null`)}},
		{"bad payload", PublishCmd{Topic: "app.x", Payload: `{nope`}, "not valid JSON", client.Event{}},
		{"bad topic", PublishCmd{Topic: "app..x"}, "400", client.Event{}},
		{"nothing to publish", PublishCmd{}, "--topic", client.Event{}},
		{"flags and file", PublishCmd{Topic: "app.x", File: "-"}, "--file", client.Event{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			tt.cmd.IO = cmdIO{Stdout: &out, Stderr: io.Discard}
			tt.cmd.Batch, tt.cmd.Concurrency = 500, 4
			err := tt.cmd.Run(context.Background(), ts.globals())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Run = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ack client.Ack
			if err := json.Unmarshal(out.Bytes(), &ack); err != nil || ack.Seq == 0 {
				t.Fatalf("output %q is not an ack: %v", out.String(), err)
			}
			evs, _, err := ts.admin().Poll(context.Background(), client.PollOptions{After: new(ack.Seq - 1), Limit: 1, Wait: 10 * time.Second})
			if err != nil || len(evs) != 1 {
				t.Fatalf("poll: %v, %v", evs, err)
			}
			ev := evs[0]
			if ev.Topic != tt.want.Topic || ev.Type != tt.want.Type || string(ev.Data) != string(tt.want.Data) ||
				tt.want.ID != "" && ev.ID != tt.want.ID {
				t.Fatalf("stored %+v, want %+v", ev, tt.want)
			}
		})
	}
}

// ndjson writes n events on topic, one per line, and returns the path. Every
// 7th line has an id, every 100th is followed by a blank line.
func ndjson(t *testing.T, topic string, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(ndjsonLine(topic, i))
		if i%100 == 99 {
			b.WriteString("  \n")
		}
	}
	path := filepath.Join(t.TempDir(), "events.ndjson")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ndjsonLine is event i of an input: data {"n":i}, and an id on every 7th.
func ndjsonLine(topic string, i int) string {
	if i%7 == 0 {
		return fmt.Sprintf(`{"topic":%q,"type":"n","data":{"n":%d,"html":"<&>"},"id":"line-%d"}`+"\n", topic, i, i)
	}
	return fmt.Sprintf(`{"topic":%q,"type":"n","data":{"n":%d,"html":"<&>"}}`+"\n", topic, i)
}

// checkOnce fails unless evs hold data n = 0..want-1 once each, in
// strictly increasing seq, and (if ordered) in input order.
func checkOnce(t *testing.T, evs []client.Event, want int, ordered bool) {
	t.Helper()
	if len(evs) != want {
		t.Fatalf("stored %d events, want %d", len(evs), want)
	}
	seen := make([]bool, want)
	for i, ev := range evs {
		var d struct {
			N    int    `json:"n"`
			HTML string `json:"html"`
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.N < 0 || d.N >= want || d.HTML != "<&>" {
			t.Fatalf("event %d data %s: %v", i, ev.Data, err)
		}
		if seen[d.N] {
			t.Fatalf("line %d stored twice", d.N)
		}
		seen[d.N] = true
		if i > 0 && ev.Seq <= evs[i-1].Seq {
			t.Fatalf("seq %d after %d", ev.Seq, evs[i-1].Seq)
		}
		if ordered && d.N != i {
			t.Fatalf("event %d is line %d: input order lost", i, d.N)
		}
		if d.N%7 == 0 && ev.ID != fmt.Sprintf("line-%d", d.N) {
			t.Fatalf("line %d stored with id %q, not its own", d.N, ev.ID)
		}
	}
}

var summaryRE = regexp.MustCompile(`^published (\d+) events in \S+ \(\d+ events/s\)(; \d+ of them were already stored)?\n$`)

func TestPublishNDJSON(t *testing.T) {
	const n = 5000
	tests := []struct {
		name        string
		concurrency int
		stdin       bool
	}{
		{"concurrent", 4, false},
		{"ordered", 1, false},
		{"stdin", 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, server.Config{})
			path := ndjson(t, "app.bulk", n)
			var stdout, stderr bytes.Buffer
			cmd := PublishCmd{File: path, Batch: 500, Concurrency: tt.concurrency, Progress: "auto",
				IO: cmdIO{Stdout: &stdout, Stderr: &stderr}}
			if tt.stdin {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				cmd.File, cmd.IO.Stdin = "-", bytes.NewReader(data)
			}
			if err := cmd.Run(context.Background(), ts.globals()); err != nil {
				t.Fatal(err)
			}
			m := summaryRE.FindStringSubmatch(stderr.String())
			if m == nil || m[1] != fmt.Sprint(n) {
				t.Fatalf("stderr %q, want the summary of %d events", stderr.String(), n)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q without --acks", stdout.String())
			}
			checkOnce(t, pollAll(t, ts.admin(), n, "app.bulk"), n, tt.concurrency == 1)
		})
	}
}

func TestPublishNDJSONAcks(t *testing.T) {
	ts := startServer(t, server.Config{})
	var stdout bytes.Buffer
	cmd := PublishCmd{File: ndjson(t, "app.acks", 1200), Batch: 100, Concurrency: 3, Acks: true,
		IO: cmdIO{Stdout: &stdout, Stderr: io.Discard}}
	if err := cmd.Run(context.Background(), ts.globals()); err != nil {
		t.Fatal(err)
	}
	seqs := map[uint64]bool{}
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var a client.Ack
		if err := dec.Decode(&a); err != nil {
			t.Fatal(err)
		}
		if seqs[a.Seq] {
			t.Fatalf("seq %d acknowledged twice", a.Seq)
		}
		seqs[a.Seq] = true
	}
	if len(seqs) != 1200 {
		t.Fatalf("%d acks, want 1200", len(seqs))
	}
}

// flakyProxy forwards to the server, but for some publishes it throws the
// server's answer away: the events are stored, the publisher hears a 503
// or a cut connection, and must retry without storing them twice.
func flakyProxy(t *testing.T, target string) (*httptest.Server, *atomic.Int64) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	var n, lost atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			rp.ServeHTTP(w, r)
			return
		}
		i := n.Add(1)
		switch {
		case i%5 == 1: // requests 1, 6, 11, …
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			lost.Add(1)
			w.Header().Set("Retry-After", "0")
			http.Error(w, "lost the answer", http.StatusServiceUnavailable)
		case i%5 == 2: // requests 2, 7, 12, …
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r)
			lost.Add(1)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &lost
}

func TestPublishNDJSONRetriesWithSameIDs(t *testing.T) {
	ts := startServer(t, server.Config{})
	proxy, lost := flakyProxy(t, ts.url())
	g := ts.globals()
	g.URL = proxy.URL
	var stderr bytes.Buffer
	cmd := PublishCmd{File: ndjson(t, "app.retry", 3000), Batch: 250, Concurrency: 4, Progress: "never",
		IO: cmdIO{Stdout: io.Discard, Stderr: &stderr}}
	if err := cmd.Run(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	if lost.Load() == 0 {
		t.Fatal("the proxy lost no answer; the test tests nothing")
	}
	if !strings.Contains(stderr.String(), "retrying") || !strings.Contains(stderr.String(), "already stored") {
		t.Errorf("stderr %q does not report the retries and duplicates", stderr.String())
	}
	checkOnce(t, pollAll(t, ts.admin(), 3000, "app.retry"), 3000, false)
}

func TestPublishNDJSONBadLine(t *testing.T) {
	const good = 1200 // valid lines before the bad one: two full batches and a partial one
	tests := []struct {
		name, line, wantErr string
	}{
		{"invalid JSON", `{"topic":"app.bad",`, "not a valid event"},
		{"unknown field", `{"topic":"app.bad","payload":{}}`, "unknown field"},
		{"bad topic", `{"topic":"app..bad"}`, "topic"},
		{"no topic", `{"type":"x"}`, "topic"},
		{"array", `[{"topic":"app.bad"}]`, "not a JSON object"},
		{"two values", `{"topic":"app.bad"} {"topic":"app.bad"}`, "more than one"},
		{"long type", `{"topic":"app.bad","type":"` + strings.Repeat("t", 129) + `"}`, "type"},
		{"bad data", `{"topic":"app.bad","data":{x}}`, "not a valid event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, server.Config{})
			var b strings.Builder
			for i := range good {
				b.WriteString(ndjsonLine("app.bad", i))
			}
			b.WriteString(tt.line + "\n")
			for i := range 10 {
				b.WriteString(ndjsonLine("app.bad", good+i))
			}
			cmd := PublishCmd{File: "-", Batch: 500, Concurrency: 4, IO: cmdIO{Stdin: strings.NewReader(b.String()), Stdout: io.Discard, Stderr: io.Discard}}
			err := cmd.Run(context.Background(), ts.globals())
			want := fmt.Sprintf("line %d: ", good+1)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run = %v, want an error with %q and %q", err, want, tt.wantErr)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("the %d events before it were published", good)) {
				t.Errorf("error %q does not say what was published", err)
			}
			checkOnce(t, pollAll(t, ts.admin(), good, "app.bad"), good, false)
		})
	}
}

func TestPublishNDJSONPermanentError(t *testing.T) {
	// A key that may not publish: the first answer is final, no retries.
	ts := startServer(t, server.Config{})
	_, token, err := ts.admin().CreateKey(context.Background(), client.KeySpec{Name: "reader", Subscribe: []string{"app.>"}})
	if err != nil {
		t.Fatal(err)
	}
	g := ts.globals()
	g.Key = token
	var stderr bytes.Buffer
	cmd := PublishCmd{File: ndjson(t, "app.denied", 2000), Batch: 500, Concurrency: 4, IO: cmdIO{Stdout: io.Discard, Stderr: &stderr}}
	err = cmd.Run(context.Background(), g)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "lines ") {
		t.Fatalf("Run = %v, want a 403 naming the lines", err)
	}
	if strings.Contains(stderr.String(), "retrying") {
		t.Errorf("retried a 403: %q", stderr.String())
	}
}

func TestPublishProgress(t *testing.T) {
	ts := startServer(t, server.Config{})
	var stderr bytes.Buffer
	cmd := PublishCmd{File: ndjson(t, "app.progress", 3000), Batch: 500, Concurrency: 2, Progress: "always",
		IO: cmdIO{Stdout: io.Discard, Stderr: &stderr}}
	if err := cmd.Run(context.Background(), ts.globals()); err != nil {
		t.Fatal(err)
	}
	out := stderr.String()
	lines := strings.Split(out, "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "\r[") || !strings.Contains(lines[0], "] 100%  3000 events") {
		t.Fatalf("stderr %q, want a bar ending at 100%% and then the summary", out)
	}
	if !summaryRE.MatchString(lines[1] + "\n") {
		t.Fatalf("summary %q", lines[1])
	}
}

func TestPublishDataFlagGuard(t *testing.T) {
	// --data is the data directory: a payload given there must not vanish.
	cmd := PublishCmd{Topic: "app.x", Batch: 500, Concurrency: 4}
	err := cmd.Run(context.Background(), &Globals{URL: "http://127.0.0.1:1", Key: "k", Data: `{"a":1}`})
	if err == nil || !strings.Contains(err.Error(), "--payload") {
		t.Fatalf("Run = %v, want a hint at --payload", err)
	}
}

func TestPublishNDJSONInterrupt(t *testing.T) {
	// Ctrl-C while the input is idle (a terminal, a quiet pipe) must end
	// the command, not wait for more input.
	ts := startServer(t, server.Config{})
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	cmd := PublishCmd{File: "-", Batch: 500, Concurrency: 4, IO: cmdIO{Stdin: pr, Stdout: io.Discard, Stderr: io.Discard}}
	go func() { errc <- cmd.Run(ctx, ts.globals()) }()
	io.WriteString(pw, ndjsonLine("app.int", 0))
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Fatalf("Run = %v, want an interruption", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("publish kept waiting for input after the interrupt")
	}
	pw.Close() // lets the abandoned reader finish, for the leak check
}

// A single publish answered 429 waits as Retry-After says and tries again
// (with an id, so that a retry cannot store the event twice).
func TestPublishOneRetriesRateLimit(t *testing.T) {
	ts := startServer(t, server.Config{})
	u, err := url.Parse(ts.url())
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	var posts atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"code":"rate_limited","message":"slow down"}}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	g := ts.globals()
	g.URL = proxy.URL
	var out, stderr bytes.Buffer
	cmd := PublishCmd{Topic: "app.limited", Batch: 500, Concurrency: 4, IO: cmdIO{Stdout: &out, Stderr: &stderr}}
	if err := cmd.Run(context.Background(), g); err != nil {
		t.Fatalf("Run = %v; stderr %q", err, stderr.String())
	}
	if posts.Load() != 2 {
		t.Fatalf("%d publish requests, want 2", posts.Load())
	}
	if want := "slow down (429 rate_limited); retrying in 1s\n"; stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	var ack client.Ack
	if err := json.Unmarshal(out.Bytes(), &ack); err != nil || ack.Seq == 0 || ack.ID == "" {
		t.Fatalf("output %q is not an ack: %v", out.String(), err)
	}
	if evs := pollAll(t, ts.admin(), 1, "app.limited"); len(evs) != 1 || evs[0].ID != ack.ID {
		t.Fatalf("stored %+v; want the one event %s", evs, ack.ID)
	}
}
