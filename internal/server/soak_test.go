package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// A mixed load on every dialect for HERALD_SOAK (make test: 5s; `make
// soak`: 10m): publishers on the native API, Hue, Zulip, Jetstream and
// Plex; native SSE, WebSocket, long-poll and subscription readers, a Zulip
// queue, a Jetstream subscription, Hue's and Plex's event streams, each
// disconnecting and resuming every fraction of a second. Every event a
// publisher had acknowledged reaches every reader of its dialect exactly
// once, and once the clients are gone the server runs no more goroutines
// than before they came.
func TestSoak(t *testing.T) {
	length := 5 * time.Second
	if v := os.Getenv("HERALD_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("HERALD_SOAK=%q: want a duration such as 10m", v)
		}
		length = d
	}
	s := servertest.Start(t, server.Config{MaxConns: -1, MaxConnsPerAddr: -1})
	l := newSoakLoad(t, s)
	l.setup()
	baseline := l.goroutines()

	pubCtx, stopPublishing := context.WithCancel(t.Context())
	readCtx, stopReading := context.WithCancel(t.Context())
	defer stopPublishing()
	defer stopReading()
	var pubs, readers sync.WaitGroup
	for _, p := range l.publishers() {
		pubs.Go(func() { p(pubCtx) })
	}
	for _, r := range l.all {
		readers.Go(func() { r.run(readCtx, r) })
	}

	peak, samples := baseline, 0
	sample := time.NewTicker(min(length/5, 10*time.Second))
	end := time.After(length)
soak:
	for {
		select {
		case <-sample.C:
			peak = max(peak, l.goroutines())
			samples++
		case <-end:
			break soak
		}
	}
	sample.Stop()
	stopPublishing()
	pubs.Wait()
	for _, c := range l.channels {
		c.finish()
	}
	drained := make(chan struct{})
	go func() { readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Minute): // a hang, not a speed limit
		stopReading()
		<-drained
		t.Error("the readers did not get every acknowledged event within 2 minutes of the end")
	}

	for _, r := range l.all {
		if err := r.verify(); err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		return
	}
	// Every client is gone: the server's goroutines go back to what they
	// were. A few may be passing (a timer, a request being answered); a
	// leak per connection or request grows with the hundreds of them.
	const slack = 10
	l.closeIdle()
	var last int
	eventually(t, 30*time.Second, func() string {
		if last = l.goroutines(); last > baseline+slack {
			return fmt.Sprintf("%d goroutines after the soak, %d before it", last, baseline)
		}
		return ""
	})
	var reconnects, events int
	for _, r := range l.all {
		reconnects += r.connections
		events += len(r.got)
	}
	acked := map[string]int{}
	for _, c := range l.channels {
		acked[c.name] = len(c.acked)
	}
	t.Logf("soak %v: acknowledged %v; %d readers got %d events in %d connections or polls, none lost or twice; goroutines %d before, peak %d (%d samples), %d after",
		length, acked, len(l.all), events, reconnects, baseline, peak, samples, last)
}

// channel is one dialect's stream of events in the soak: the tokens its
// publishers had acknowledged, each naming one event.
type channel struct {
	name  string
	mu    sync.Mutex
	acked map[string]bool
	done  bool
}

func (c *channel) ack(t testing.TB, tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.acked[tok] {
		t.Errorf("%s: token %s acknowledged twice", c.name, tok)
	}
	c.acked[tok] = true
}

// finish says that no more events will be acknowledged.
func (c *channel) finish() {
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
}

// reader is one client of a channel and what it was delivered. Lock
// order: a reader's mu, then its channel's.
type reader struct {
	name        string
	ch          *channel
	run         func(ctx context.Context, r *reader)
	mu          sync.Mutex
	got         map[string]int
	connections int // connections opened or polls made
	err         error
}

// deliver records one delivered event; it returns errDone once the reader
// has as many events as the finished channel acknowledged.
func (r *reader) deliver(tok string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[tok]++
	r.ch.mu.Lock()
	defer r.ch.mu.Unlock()
	if r.ch.done && len(r.got) >= len(r.ch.acked) {
		return errDone
	}
	return nil
}

// fail records the first thing that went wrong; the reader stops.
func (r *reader) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

// more reports whether the reader should go on: it has not failed and
// may still miss an acknowledged event.
func (r *reader) more(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connections++
	if r.err != nil {
		return false
	}
	r.ch.mu.Lock()
	defer r.ch.mu.Unlock()
	return !r.ch.done || len(r.got) < len(r.ch.acked)
}

// verify: every acknowledged event once, nothing else.
func (r *reader) verify() error {
	if r.err != nil {
		return fmt.Errorf("%s: %v", r.name, r.err)
	}
	var missing, twice, extra []string
	for tok := range r.ch.acked {
		switch n := r.got[tok]; {
		case n == 0:
			missing = append(missing, tok)
		case n > 1:
			twice = append(twice, tok)
		}
	}
	for tok := range r.got {
		if !r.ch.acked[tok] {
			extra = append(extra, tok)
		}
	}
	if len(missing)+len(twice)+len(extra) > 0 {
		slices.Sort(missing)
		slices.Sort(twice)
		return fmt.Errorf("%s: of %d acknowledged events %d never arrived (%.5q), %d twice (%.5q); %d arrived unacknowledged (%.5q)",
			r.name, len(r.ch.acked), len(missing), missing, len(twice), twice, len(extra), extra)
	}
	return nil
}

// resumeAfter is how long a stream lives before its reader disconnects
// and resumes.
func resumeAfter() time.Duration { return time.Duration(100+rand.IntN(500)) * time.Millisecond }

// soakLoad is the server, the credentials and the clients of a soak.
type soakLoad struct {
	t        *testing.T
	s        *servertest.Server
	client   *http.Client // publishers, polls, streams
	sampler  *http.Client // the goroutine samples: no connection kept
	admin    http.Header
	vars     map[string]string
	channels map[string]*channel
	all      []*reader
}

func newSoakLoad(t *testing.T, s *servertest.Server) *soakLoad {
	return &soakLoad{t: t, s: s,
		client:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute},
		sampler:  &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute},
		admin:    http.Header{"Authorization": {"Bearer " + s.Admin}, "Content-Type": {"application/json"}},
		vars:     map[string]string{},
		channels: map[string]*channel{},
	}
}

// goroutines samples the server's go_goroutines.
func (l *soakLoad) goroutines() int {
	l.t.Helper()
	_, _, b := request(l.t, l.sampler, "GET", l.s.URL()+"/metrics", http.Header{"Authorization": {"Bearer " + l.s.Admin}}, "", nil)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go_goroutines "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				l.t.Fatalf("go_goroutines %q", v)
			}
			return int(n)
		}
	}
	l.t.Fatal("/metrics has no go_goroutines")
	return 0
}

func (l *soakLoad) closeIdle() {
	l.client.CloseIdleConnections()
	l.sampler.CloseIdleConnections()
}

// call makes a setup request, which must succeed.
func (l *soakLoad) call(method, path string, hdr http.Header, body string, out any) {
	l.t.Helper()
	if st, _, b := request(l.t, l.client, method, l.s.URL()+path, hdr, body, out); st >= 300 {
		l.t.Fatalf("setup: %s %s: %d %s", method, path, st, b)
	}
}

// reader adds a reader of the named channel.
func (l *soakLoad) reader(name, ch string, run func(ctx context.Context, r *reader)) *reader {
	c := l.channels[ch]
	if c == nil {
		c = &channel{name: ch, acked: map[string]bool{}}
		l.channels[ch] = c
	}
	r := &reader{name: name, ch: c, run: run, got: map[string]int{}}
	l.all = append(l.all, r)
	return r
}
