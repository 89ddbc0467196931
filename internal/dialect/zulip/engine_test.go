package zulip

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// engineCalls counts what herald asks of the engine, by kind, as the
// engine sees it: a connection of the test's own listens to every subject
// of the account and sorts the requests herald's connection sends.
type engineCalls struct {
	CursorReads, CursorWrites int // the cursor bucket's: queues
	CursorRevisions           int // the last revision under the queues' prefix (a barrier)
	KVReads, KVWrites         int // other buckets' (users, streams, counters)
	LogReads, Bounds, Appends int
	Other                     int
}

func (c engineCalls) String() string {
	return fmt.Sprintf("cursor reads %d, cursor writes %d, cursor revisions %d, other kv reads %d, other kv writes %d, "+
		"log reads %d, bounds %d, appends %d, other %d",
		c.CursorReads, c.CursorWrites, c.CursorRevisions, c.KVReads, c.KVWrites, c.LogReads, c.Bounds, c.Appends, c.Other)
}

// engineTap is the listening connection.
type engineTap struct {
	t      *testing.T
	nc     *nats.Conn
	mu     sync.Mutex
	calls  engineCalls
	marker chan struct{}
	seen   []string
}

const tapMarker = "herald-test.tap.marker"

func newEngineTap(t *testing.T, clientURL string) *engineTap {
	t.Helper()
	nc, err := nats.Connect(clientURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	tap := &engineTap{t: t, nc: nc, marker: make(chan struct{}, 1)}
	if _, err := nc.Subscribe(">", tap.count); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return tap
}

func (tap *engineTap) count(m *nats.Msg) {
	s := m.Subject
	tap.mu.Lock()
	defer tap.mu.Unlock()
	switch {
	case s == tapMarker:
		tap.marker <- struct{}{}
		return
	case strings.HasPrefix(s, "_INBOX."), strings.HasPrefix(s, "$JS.ACK."), strings.HasPrefix(s, "$JS.EVENT."),
		strings.HasPrefix(s, "$JS.FC."), strings.HasPrefix(s, "$SYS."), strings.HasPrefix(m.Reply, "$JS.ACK."):
		return // answers, acks, advisories, and the tails' deliveries (under the events' own subjects)
	case strings.HasPrefix(s, "$JS.API.DIRECT.GET.KV_herald-cursors.") && strings.HasSuffix(s, ".>"):
		tap.calls.CursorRevisions++ // the last message under a wildcard
	case strings.HasPrefix(s, "$JS.API.DIRECT.GET.KV_herald-cursors"), strings.HasPrefix(s, "$JS.API.STREAM.MSG.GET.KV_herald-cursors"):
		tap.calls.CursorReads++
	case strings.HasPrefix(s, "$KV.herald-cursors."):
		tap.calls.CursorWrites++
	case strings.HasPrefix(s, "$JS.API.DIRECT.GET.KV_"), strings.HasPrefix(s, "$JS.API.STREAM.MSG.GET.KV_"):
		tap.calls.KVReads++
	case strings.HasPrefix(s, "$KV."):
		tap.calls.KVWrites++
	case strings.HasPrefix(s, "$JS.API.DIRECT.GET."), strings.HasPrefix(s, "$JS.API.STREAM.MSG.GET."):
		tap.calls.LogReads++
	case strings.HasPrefix(s, "$JS.API.STREAM.INFO."):
		tap.calls.Bounds++
	case strings.HasPrefix(s, "herald.ev."):
		tap.calls.Appends++
	default:
		tap.calls.Other++
	}
	tap.seen = append(tap.seen, s)
}

// take returns what was counted since the last take: everything herald
// sent before take was called has reached the tap when the tap's own
// marker, published after it, comes back.
func (tap *engineTap) take() (engineCalls, []string) {
	tap.t.Helper()
	if err := tap.nc.Publish(tapMarker, nil); err != nil {
		tap.t.Fatal(err)
	}
	select {
	case <-tap.marker:
	case <-time.After(10 * time.Second):
		tap.t.Fatal("the tap's marker did not come back")
	}
	tap.mu.Lock()
	defer tap.mu.Unlock()
	c, seen := tap.calls, tap.seen
	tap.calls, tap.seen = engineCalls{}, nil
	return c, seen
}

// freeAddr returns a loopback address with a free port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// quietNode is a node of e whose core does nothing of its own accord while
// a test counts: no trim of the window, no sweep of cursors.
func (e *env) quietNode(cfg Config) *env {
	e.t.Helper()
	core, err := dialect.Open(context.Background(), e.core.Log, dialect.Config{
		Hub:    hub.Config{TrimEvery: time.Hour},
		Cursor: cursor.Config{Now: e.clock.Now, SweepEvery: time.Hour},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(core.Close)
	return e.nodeOn(core, cfg)
}

// TestPollEngineCalls pins what a Zulip poll asks of the engine in the
// steady state, a client acknowledging what it was last handed: a blocked
// poll woken by an event, a poll that finds events waiting, an empty poll
// that does not block, a heartbeat, and a burst of polls woken together.
// No poll writes to the engine, and none reads its queue but the first of
// a queue on a node (at the start): before it answers a poll asks the
// engine for the last revision under the queues' prefix, a barrier its
// node's watch of the queues then passes, since only the engine knows
// whether another node deleted the queue meanwhile; the polls answering
// together share one such call (or two). A poll that does not block asks
// the log whether it holds what this node's tail has not delivered yet (a
// client reads its own writes).
func TestPollEngineCalls(t *testing.T) {
	e := newEnvWith(t, Config{}, dialecttest.Options{Log: eventlog.Config{Listen: freeAddr(t)}})
	n := e.quietNode(Config{})
	hb := e.quietNode(Config{Heartbeat: 20 * time.Millisecond})
	bot := e.addUser("bot@example.com", "Bot")
	// Reactions, appended by the core: an event costs one append and
	// nothing else, so the counts are the poll's.
	qid := n.register(bot, url.Values{"event_types": {`["reaction"]`}, "queue_lifespan_secs": {"86400"}})
	ctx := context.Background()
	react := func() uint64 {
		t.Helper()
		acks, err := e.core.Append(ctx, "zulip", []eventlog.Draft{{Topic: "zulip.zulip.reaction", Type: "reaction",
			Data: json.RawMessage(`{"op":"add","message_id":1,"emoji_name":"smile","user_id":1}`)}})
		if err != nil {
			t.Fatal(err)
		}
		return acks[0].Seq
	}
	last := int64(-1)
	take := func(r resp, want string) {
		t.Helper()
		evs := r.events()
		if r.Status != 200 || fmt.Sprint(contents(r)) != want {
			t.Fatalf("poll: %d %s, want %s", r.Status, r.Raw, want)
		}
		if len(evs) > 0 {
			last = id(t, evs[len(evs)-1])
		}
	}
	react()
	take(n.poll(ctx, bot, qid, last, true), "[reaction]") // the client is where it polls from
	tap := newEngineTap(t, e.core.Log.ClientURL())
	for _, tc := range []struct {
		name string
		run  func()
		want engineCalls
	}{
		{"blocked poll woken by an event", func() {
			got := make(chan resp, 1)
			go func() { got <- n.poll(ctx, bot, qid, last, false) }()
			n.waitPolling(qid, got)
			react()
			take(<-got, "[reaction]")
		}, engineCalls{CursorRevisions: 1, Appends: 1}},
		{"events waiting", func() {
			react()
			e.waitHub(t, react()) // a blocking poll answers from the tail
			take(n.poll(ctx, bot, qid, last, false), "[reaction reaction]")
		}, engineCalls{CursorRevisions: 1, Appends: 2}},
		{"empty, not blocking", func() {
			take(n.poll(ctx, bot, qid, last, true), "[]")
		}, engineCalls{CursorRevisions: 1, Bounds: 1}},
		{"heartbeat, the first poll on its node", func() {
			take(hb.poll(ctx, bot, qid, last, false), "[heartbeat]")
		}, engineCalls{CursorReads: 1, CursorRevisions: 1}},
		{"heartbeat", func() {
			take(hb.poll(ctx, bot, qid, last, false), "[heartbeat]")
		}, engineCalls{CursorRevisions: 1}},
	} {
		tap.take()
		tc.run()
		if got, seen := tap.take(); got != tc.want {
			t.Errorf("%s: %v; want %v\n%s", tc.name, got, tc.want, strings.Join(seen, "\n"))
		}
	}

	// A burst: blocked polls of many queues woken by one event read none
	// of them, and share their barriers (how many calls they share depends
	// on when each wakes; never more than one a poll).
	const burst = 10
	qids := make([]string, burst)
	for i := range qids {
		qids[i] = n.register(bot, url.Values{"event_types": {`["reaction"]`}, "queue_lifespan_secs": {"86400"}})
		take(n.poll(ctx, bot, qids[i], -1, true), "[]") // the first poll on the node reads its queue
	}
	tap.take()
	got := make([]chan resp, burst)
	for i, qid := range qids {
		got[i] = make(chan resp, 1)
		go func() { got[i] <- n.poll(ctx, bot, qid, -1, false) }()
		n.waitPolling(qid, got[i])
	}
	react()
	for i := range got {
		take(<-got[i], "[reaction]")
	}
	c, seen := tap.take()
	if c.CursorRevisions < 1 || c.CursorRevisions > burst {
		t.Errorf("a burst of %d polls: %d barriers", burst, c.CursorRevisions)
	}
	barriers := c.CursorRevisions
	c.CursorRevisions = 0
	if c != (engineCalls{Appends: 1}) {
		t.Errorf("a burst of %d polls: %v; want 1 append and barriers only\n%s", burst, c, strings.Join(seen, "\n"))
	}
	t.Logf("a burst of %d polls shared %d barriers", burst, barriers)
}
