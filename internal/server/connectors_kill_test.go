package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// hop is the child seen through the in-process helpers (which need only
// its URL and admin key); stopping it stays the child's business.
func (c *child) hop() *hop {
	return &hop{t: c.t, Server: &servertest.Server{T: c.t, Cfg: server.Config{HTTPAddr: c.port}, Admin: c.key}}
}

// keepDoing calls f again and again, pause apart, until the stop it
// returns is called (which waits for the call under way).
func keepDoing(pause time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(pause):
				f()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// deleteHold stands between a jetstream connector and its upstream and
// keeps the batch DELETEs it is told to: the connector has appended the
// batch and stored its position, and waits for the upstream's answer.
type deleteHold struct {
	holding atomic.Bool
	held    chan struct{} // closed when the first DELETE is held
	release chan struct{} // closed when the test ends
	once    sync.Once
	*httptest.Server
}

func holdDeletes(t *testing.T, upstream string) *deleteHold {
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	h := &deleteHold{held: make(chan struct{}), release: make(chan struct{})}
	h.holding.Store(true)
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "DELETE" && h.holding.Load() {
			// Read to the end, so the server notices the connection close.
			_, _ = io.Copy(io.Discard, r.Body)
			h.once.Do(func() { close(h.held) })
			select {
			case <-r.Context().Done(): // the connector's process ended
			case <-h.release:
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		close(h.release)
		h.Close()
	})
	return h
}

// A downstream herald killed (SIGKILL) after it stored a batch and before
// the upstream DELETE of it reads the batch again after its restart and
// keeps its events once; what the upstream made meanwhile follows, in
// order.
func TestJetstreamConnectorSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	up := startHop(t)
	key := up.jetstreamUser("connector")
	hold := holdDeletes(t, up.URL())
	c := startChild(t)
	down := c.hop()
	alice := down.jetstreamUser("alice")
	down.admin("POST", "/v1/connectors", `{"name":"rfid","kind":"jetstream","url":"`+hold.URL+`","key":"`+key+`"}`, nil)
	waitConnected(t, down, "rfid", 0)

	ids := up.simulate(5)
	select {
	case <-hold.held:
	case <-time.After(30 * time.Second):
		t.Fatal("the connector never deleted its first batch")
	}
	c.kill()
	hold.holding.Store(false)
	ids = append(ids, up.simulate(5)...) // pending upstream behind the undeleted batch
	c.start()
	ids = append(ids, up.simulate(5)...)
	got := eventIDs(t, down.jetstreamTake(alice, len(ids)))
	time.Sleep(2 * time.Second) // more than a poll: a batch taken twice would come now
	got = append(got, eventIDs(t, down.jetstreamTake(alice, 0))...)
	if !slices.Equal(got, ids) {
		t.Fatalf("downstream served %d events\n%v\nwant the upstream's %d\n%v", len(got), got, len(ids), ids)
	}
	// The state is written at a bounded rate: the kill, a moment after the
	// first batch, took its count along; the re-read batch is not counted.
	if v := down.connector("rfid"); v.State.Events < 20 || v.State.Events > uint64(len(ids)) {
		t.Fatalf("state counts %d events ingested, want 20 to %d: %+v", v.State.Events, len(ids), v.State)
	}
}

// A downstream herald following a Zulip identity is killed (SIGKILL)
// while messages are sent upstream and started again: the identity's
// herald queue gets every message the upstream accepted, once, in order.
func TestZulipConnectorSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	up := startHop(t)
	upBot, alice := up.zulipUser("bot@example.com", "Bot"), up.zulipUser("alice@example.com", "Alice")
	up.admin("POST", "/v1/zulip/streams", `{"name":"general"}`, nil)
	c := startChild(t)
	down := c.hop()
	down.admin("POST", "/v1/connectors", `{"name":"chat","kind":"zulip","url":"`+up.URL()+
		`","email":"bot@example.com","key":"`+upBot.Key+`"}`, nil)
	waitConnected(t, down, "chat", 0)
	bot := down.zulipUser("bot@example.com", "Bot")
	q := down.zulipRegister(bot)

	var (
		mu   sync.Mutex
		sent []string
	)
	send := func() {
		mu.Lock()
		defer mu.Unlock()
		content := fmt.Sprintf("m%d", len(sent))
		up.zulipSend(alice, content)
		sent = append(sent, content)
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(sent)
	}
	// Paced under the upstream key's rate limit (1,000/s): sent with no
	// pause, alice's messages met 429 on a fast machine.
	stopSending := keepDoing(2*time.Millisecond, send)
	// Killed once some messages are in, with more on their way.
	eventually(t, 30*time.Second, func() string {
		if v := down.connector("chat"); v.State.Events < 5 {
			return fmt.Sprintf("%d messages ingested before the kill", v.State.Events)
		}
		return ""
	})
	c.kill()
	n := count()
	eventually(t, 30*time.Second, func() string {
		if count() < n+5 {
			return "sending while the downstream is down"
		}
		return ""
	})
	c.start()
	eventually(t, 30*time.Second, func() string {
		if count() < n+10 {
			return "sending after the restart"
		}
		return ""
	})
	stopSending()
	mu.Lock()
	want := slices.Clone(sent)
	mu.Unlock()
	if got := contents(q.take(len(want))); !slices.Equal(got, want) {
		t.Fatalf("the herald queue got %d messages\n%v\nthe upstream accepted %d\n%v", len(got), got, len(want), want)
	}
}
