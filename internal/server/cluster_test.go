package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/devcluster"
	"github.com/herald-io/herald/internal/server"
)

// node is a herald server on the shared cluster.
type node struct {
	*server.Server
	key string
}

func startNode(t *testing.T, urls []string) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", NATS: urls, Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return &node{Server: srv, key: srv.AdminKey()}
}

// send makes a request to n with the given headers and decodes a 2xx JSON
// answer into out; it answers 0 if the request failed (the node is gone).
func (n *node) send(t *testing.T, method, path string, hdr http.Header, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, n.URL+path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

// call makes a request with the node's admin key.
func (n *node) call(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	return n.send(t, method, path, http.Header{"Authorization": {"Bearer " + n.key}}, body, out)
}

func startCluster(t *testing.T) *devcluster.Cluster {
	t.Helper()
	c, err := devcluster.Start(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Shutdown)
	return c
}

// Two herald nodes on one three-server cluster share the log, the
// subscriptions and the keys.
func TestTwoNodesShareEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	c := startCluster(t)
	a, b := startNode(t, c.URLs()), startNode(t, c.URLs())

	// A key created on A works on B.
	var k struct{ Token string }
	if st := a.call(t, "POST", "/v1/keys", `{"name":"app","publish":["app.>"],"subscribe":["app.>"]}`, &k); st != 201 {
		t.Fatalf("create key: %d", st)
	}
	bk := &node{Server: b.Server, key: k.Token}
	if st := bk.call(t, "GET", "/v1/events?after=0", "", nil); st != 200 {
		t.Fatalf("A's key on B: %d", st)
	}

	// An event published on A reaches a long-poll on B.
	got := make(chan []byte, 1)
	go func() {
		var p struct{ Events []json.RawMessage }
		bk.call(t, "GET", "/v1/events?topics=app.>&after=0&wait=20s", "", &p)
		if len(p.Events) > 0 {
			got <- p.Events[0]
		}
		close(got)
	}()
	time.Sleep(100 * time.Millisecond)
	if st := a.call(t, "POST", "/v1/events", `{"topic":"app.x","type":"hello"}`, nil); st != 201 {
		t.Fatalf("publish on A: %d", st)
	}
	if e, ok := <-got; !ok || !bytes.Contains(e, []byte(`"hello"`)) {
		t.Fatalf("B's long-poll got %s", e)
	}

	// A subscription fetched on A is acknowledged on B.
	a.call(t, "PUT", "/v1/subscriptions/shared", `{"topics":["app.>"],"start":"earliest"}`, nil)
	var batch struct {
		Batch  string
		Events []json.RawMessage
	}
	a.call(t, "GET", "/v1/subscriptions/shared/events", "", &batch)
	if len(batch.Events) != 1 {
		t.Fatalf("fetch on A: %+v", batch)
	}
	if st := b.call(t, "POST", "/v1/subscriptions/shared/ack", fmt.Sprintf(`{"batch":%q}`, batch.Batch), nil); st != 200 {
		t.Fatalf("ack on B: %d", st)
	}
	var view struct{ Position uint64 }
	a.call(t, "GET", "/v1/subscriptions/shared", "", &view)
	if view.Position != 1 {
		t.Fatalf("A sees position %d after B's ack", view.Position)
	}
}

// Publishers on both nodes run while the stream's leader server is killed:
// publishing resumes after the election, and every acknowledged event is in
// the log exactly once, in order.
func TestFailoverLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	c := startCluster(t)
	a, b := startNode(t, c.URLs()), startNode(t, c.URLs())

	var mu sync.Mutex
	acked := map[string]uint64{}
	var stop atomic.Bool
	var lastOK atomic.Int64
	var maxGap atomic.Int64
	var wg sync.WaitGroup
	for i, n := range []*node{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; !stop.Load(); j++ {
				id := fmt.Sprintf("p%d-%d", i, j)
				body := fmt.Sprintf(`{"topic":"app.fail","type":"t","id":%q}`, id)
				// Retry with the same id until acknowledged: dedupe makes it once.
				for !stop.Load() {
					var out struct {
						Events []struct {
							ID  string
							Seq uint64
						}
					}
					if n.call(t, "POST", "/v1/events", body, &out) == 201 {
						now := time.Now().UnixNano()
						if prev := lastOK.Swap(now); prev != 0 && now-prev > maxGap.Load() {
							maxGap.Store(now - prev)
						}
						mu.Lock()
						acked[id] = out.Events[0].Seq
						mu.Unlock()
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(time.Second)
	var info struct{ Stream struct{ Leader string } }
	if st := a.call(t, "GET", "/v1/cluster", "", &info); st != 200 || info.Stream.Leader == "" {
		t.Fatalf("cluster info: %d %+v", st, info)
	}
	leader := c.Index(info.Stream.Leader)
	if leader < 0 {
		t.Fatalf("unknown leader %q", info.Stream.Leader)
	}
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	killed := time.Now()
	c.Stop(leader)
	// Publishing must resume: wait (bounded) for 200 more acknowledgements.
	var recovered time.Duration
	for deadline := killed.Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= before+200 {
			recovered = time.Since(killed)
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	if recovered == 0 {
		t.Fatal("publishing did not resume within 60s after the leader was killed")
	}

	// Read everything back through B.
	var all []storedEvent
	next := uint64(0)
	for {
		var page struct {
			Events []storedEvent
			Next   uint64
		}
		if st := b.call(t, "GET", fmt.Sprintf("/v1/events?after=%d&limit=1000", next), "", &page); st != 200 {
			t.Fatalf("read: %d", st)
		}
		if len(page.Events) == 0 {
			break
		}
		all = append(all, page.Events...)
		next = page.Next
	}
	seen := map[string]uint64{}
	for i, e := range all {
		if i > 0 && e.Seq <= all[i-1].Seq {
			t.Fatalf("out of order at %d", e.Seq)
		}
		if _, dup := seen[e.ID]; dup {
			t.Fatalf("event %s stored twice", e.ID)
		}
		seen[e.ID] = e.Seq
	}
	for id, seq := range acked {
		if seen[id] != seq {
			t.Fatalf("acknowledged event %s (seq %d) missing or moved (%d)", id, seq, seen[id])
		}
	}
	t.Logf("killed leader %s: %d events acknowledged (%d before the kill); 200 more acknowledged %v after the kill; longest gap between acknowledgements %v",
		info.Stream.Leader, len(acked), before, recovered.Round(time.Millisecond), time.Duration(maxGap.Load()).Round(time.Millisecond))
}

// A herald node goes away: its SSE client reconnects to the other node with
// Last-Event-ID and misses nothing.
func TestStreamMovesToAnotherNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	c := startCluster(t)
	a, b := startNode(t, c.URLs()), startNode(t, c.URLs())
	publish := func(n *node, from, to int) {
		for i := from; i < to; i++ {
			if st := n.call(t, "POST", "/v1/events", fmt.Sprintf(`{"topic":"app.move","type":"t","data":%d}`, i), nil); st != 201 {
				t.Fatalf("publish %d: %d", i, st)
			}
		}
	}
	read := func(n *node, key, lastID string, want int) (ids []string) {
		req, _ := http.NewRequest("GET", n.URL+"/v1/stream?topics=app.>&after=0", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for len(ids) < want && sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
				ids = append(ids, id)
			}
		}
		return ids
	}
	publish(a, 0, 10)
	first := read(a, a.key, "", 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.Shutdown(ctx)
	publish(b, 10, 20)
	rest := read(b, a.key, first[len(first)-1], 10)
	got := strings.Join(append(first, rest...), ",")
	if got != "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20" {
		t.Fatalf("ids across nodes: %s", got)
	}
}
