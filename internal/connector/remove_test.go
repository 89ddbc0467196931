package connector_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/lease"
)

// leaving is a kind whose connectors leave a trace on the node (as the Hue
// kind's mirror does) until Removed; it records each Removed and whether a
// run of that connector was still going at that moment.
type leaving struct {
	mu       sync.Mutex
	traces   map[string]bool
	running  map[string]bool
	removed  []string
	overlaps int
}

func newLeaving(traces ...string) *leaving {
	l := &leaving{traces: map[string]bool{}, running: map[string]bool{}}
	for _, n := range traces {
		l.traces[n] = true
	}
	return l
}

func (l *leaving) Check(connector.Spec) error { return nil }
func (l *leaving) Single()                    {}

func (l *leaving) Run(ctx context.Context, env connector.Env) error {
	l.mu.Lock()
	l.traces[env.Spec.Name], l.running[env.Spec.Name] = true, true
	l.mu.Unlock()
	env.Report.Connected(true)
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond) // a run that takes a while to end
	l.mu.Lock()
	l.running[env.Spec.Name] = false
	l.mu.Unlock()
	return ctx.Err()
}

func (l *leaving) Removed(_ context.Context, name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[name] {
		l.overlaps++
	}
	delete(l.traces, name)
	l.removed = append(l.removed, name)
	return nil
}

func (l *leaving) Leftovers() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for n := range l.traces {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (l *leaving) state() (traces []string, removed []string, overlaps int) {
	out := l.Leftovers()
	l.mu.Lock()
	defer l.mu.Unlock()
	return out, slices.Clone(l.removed), l.overlaps
}

// leavingEnv serves /v1/connectors with the leaving kind, on a core whose
// leases last ttl; setup runs before the service starts.
func leavingEnv(t *testing.T, l *leaving, ttl time.Duration, setup func(*dialecttest.Core, *lease.Elector)) *env {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	lkv, err := c.Log.KV(t.Context(), lease.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	c.Leases = lease.New(lkv, lease.Config{Holder: c.Node, TTL: ttl})
	if setup != nil {
		setup(c, c.Leases)
	}
	svc, err := connector.New(t.Context(), c.Core, connector.Config{Kinds: map[string]connector.Kind{"leaving": l}})
	if err != nil {
		t.Fatal(err)
	}
	svc.Start()
	t.Cleanup(svc.Close)
	srv := c.Serve(t, svc.Mount)
	return &env{core: c, svc: svc, url: srv.URL, admin: c.Key(t, auth.Spec{Name: "admin", Admin: true})}
}

// A deleted connector's traces are removed once, after its run ended; a
// second connector of a Single kind is refused with 409 meanwhile.
func TestRemovedAfterItsRun(t *testing.T) {
	l := newLeaving()
	e := leavingEnv(t, l, lease.DefaultTTL, nil)
	if r := e.do(t, "POST", "/v1/connectors", e.admin, `{"name":"home","kind":"leaving","url":"http://up"}`); r.status != 201 {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	waitFor(t, "the run", func() bool { return e.view(t, "home").State.Connected })
	r := e.do(t, "POST", "/v1/connectors", e.admin, `{"name":"other","kind":"leaving","url":"http://up"}`)
	var prob struct {
		Error struct{ Code, Message string }
	}
	r.decode(t, &prob)
	if r.status != 409 || prob.Error.Code != "conflict" {
		t.Fatalf("a second connector of a single kind: %d %s", r.status, r.body)
	}
	if r := e.do(t, "DELETE", "/v1/connectors/home", e.admin, ""); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	waitFor(t, "the traces to go", func() bool { tr, _, _ := l.state(); return len(tr) == 0 })
	time.Sleep(200 * time.Millisecond) // a second Removed, if any, would come now
	if _, removed, overlaps := l.state(); len(removed) != 1 || overlaps != 0 {
		t.Fatalf("Removed %v, %d of them while the run was going", removed, overlaps)
	}
	if r := e.do(t, "POST", "/v1/connectors", e.admin, `{"name":"other","kind":"leaving","url":"http://up"}`); r.status != 201 {
		t.Fatalf("POST after the removal: %d %s", r.status, r.body)
	}
}

// Traces of a connector without a definition (its node was killed while it
// was deleted) are removed by a node that starts: at once when the lease
// is free or this node's own, after a TTL unrenewed when another holds it,
// never while its holder renews it.
func TestLeftoversSwept(t *testing.T) {
	const ttl = 300 * time.Millisecond
	l := newLeaving("free", "mine", "dead", "alive", "defined")
	var stopAlive context.CancelFunc
	var aliveDone sync.WaitGroup
	var deadRev uint64
	e := leavingEnv(t, l, ttl, func(c *dialecttest.Core, own *lease.Elector) {
		lkv, _ := c.Log.KV(t.Context(), lease.Bucket)
		put := func(name, holder string) uint64 {
			b, _ := json.Marshal(map[string]any{"holder": holder, "since": time.Now()})
			rev, err := lkv.Put(t.Context(), "lease.connector."+name, b)
			if err != nil {
				t.Fatal(err)
			}
			return rev
		}
		put("mine", c.Node) // an earlier life of this node
		deadRev = put("dead", "gone-node")
		// A live node renewing its lease.
		other := lease.New(lkv, lease.Config{Holder: "other-node", TTL: ttl})
		ctx, cancel := context.WithCancel(context.Background())
		stopAlive = cancel
		aliveDone.Add(1)
		go func() {
			defer aliveDone.Done()
			other.Run(ctx, "connector.alive", func(ctx context.Context) { <-ctx.Done() })
		}()
		waitFor(t, "the other node's lease", func() bool {
			h, err := other.Holder(t.Context(), "connector.alive")
			return err == nil && h.Holder == "other-node"
		})
	})
	t.Cleanup(func() { stopAlive(); aliveDone.Wait() })
	if r := e.do(t, "POST", "/v1/connectors", e.admin, `{"name":"defined","kind":"leaving","url":"http://up"}`); r.status != 201 {
		t.Fatalf("POST: %d %s", r.status, r.body)
	}
	waitFor(t, "free, mine and dead removed", func() bool {
		tr, _, _ := l.state()
		return slices.Equal(tr, []string{"alive", "defined"})
	})
	h, err := e.core.Leases.Holder(t.Context(), "connector.dead")
	if err != nil || h.Revision != deadRev {
		t.Fatalf("the dead node's lease: %+v %v", h, err)
	}
	time.Sleep(3 * ttl) // several TTLs: a live holder's connector is not touched
	if tr, _, _ := l.state(); !slices.Equal(tr, []string{"alive", "defined"}) {
		t.Fatalf("traces %v while another node renews the lease", tr)
	}
	stopAlive() // that node stops: the lease is given back
	waitFor(t, "alive removed after its node stopped", func() bool {
		tr, _, _ := l.state()
		return slices.Equal(tr, []string{"defined"})
	})
}
