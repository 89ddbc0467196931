package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// clusterView is GET /v1/cluster.
type clusterView struct {
	Stream struct {
		Leader   string
		Replicas []struct{ Name string }
		Last     uint64 `json:"last_seq"`
	}
	Node  string
	Nodes []struct {
		ID, Host, Version, State string
		URLs                     []string
		Started, Heartbeat       time.Time
		Tail, Lag                uint64
		Self                     bool
	}
}

// eventually polls cond every 50 ms until it returns "" (done), failing the
// test with cond's last complaint when within has passed.
func eventually(t *testing.T, within time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the value of the sample named exactly sample (name and
// labels as the exposition format prints them) on n's /metrics, or "".
func (n *node) metric(t *testing.T, sample string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", n.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+n.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), sample+" "); ok {
			return v
		}
	}
	return ""
}

// Two nodes on one cluster list each other in GET /v1/cluster with their
// tail positions, count each other in /metrics, and a node that shuts down
// gracefully leaves the list at once.
func TestClusterListsNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	c := startCluster(t)
	a, b := startNode(t, c.URLs()), startNode(t, c.URLs())
	if a.NodeID() == "" || a.NodeID() == b.NodeID() {
		t.Fatalf("node ids %q and %q", a.NodeID(), b.NodeID())
	}
	for i := 0; i < 5; i++ {
		if st := a.call(t, "POST", "/v1/events", `{"topic":"app.nodes","type":"t"}`, nil); st != 201 {
			t.Fatalf("publish: %d", st)
		}
	}

	// Each node lists both, itself marked, and — once both have
	// heartbeated since the publishes — both tails at the log's end.
	for _, n := range []*node{a, b} {
		eventually(t, 20*time.Second, func() string {
			var v clusterView
			if st := n.call(t, "GET", "/v1/cluster", "", &v); st != 200 {
				return fmt.Sprintf("GET /v1/cluster: %d", st)
			}
			if v.Node != n.NodeID() || len(v.Nodes) != 2 || len(v.Stream.Replicas) != 2 {
				return fmt.Sprintf("node %s sees %+v", n.NodeID(), v)
			}
			for _, e := range v.Nodes {
				other := a
				if e.ID == b.NodeID() {
					other = b
				}
				switch {
				case e.ID != a.NodeID() && e.ID != b.NodeID():
					return fmt.Sprintf("unknown node %+v", e)
				case e.Self != (e.ID == n.NodeID()):
					return fmt.Sprintf("self flag of %+v seen from %s", e, n.NodeID())
				case e.State != "fresh" || e.Version != "dev" || e.Host == "" || e.Started.IsZero() || e.Heartbeat.Before(e.Started):
					return fmt.Sprintf("entry %+v", e)
				case !slices.Contains(e.URLs, other.URL):
					return fmt.Sprintf("entry %+v does not advertise %s", e, other.URL)
				case e.Tail+e.Lag > v.Stream.Last:
					return fmt.Sprintf("tail %d + lag %d past the log's end %d", e.Tail, e.Lag, v.Stream.Last)
				case e.Tail != 5 || e.Lag != 0:
					return fmt.Sprintf("node %s: tail %d lag %d, want 5 and 0", e.ID, e.Tail, e.Lag)
				}
			}
			return ""
		})
	}
	for sample, want := range map[string]string{
		`herald_cluster_nodes{state="fresh"}`: "2",
		`herald_cluster_nodes{state="stale"}`: "0",
		`herald_stream_replicas`:              "3",
		`herald_stream_has_leader`:            "1",
		`herald_tail_lag_events`:              "0",
	} {
		eventually(t, 20*time.Second, func() string {
			if got := a.metric(t, sample); got != want {
				return fmt.Sprintf("%s = %q, want %s", sample, got, want)
			}
			return ""
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var v clusterView
	if st := a.call(t, "GET", "/v1/cluster", "", &v); st != 200 || len(v.Nodes) != 1 || v.Nodes[0].ID != a.NodeID() {
		t.Fatalf("after B's shutdown A sees %d %+v", st, v)
	}
}

// sseLines opens a native SSE stream on n and returns its lines; the
// channel closes when the stream ends.
func sseLines(t *testing.T, n *node, path string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", n.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+n.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		resp.Body.Close()
		t.Fatalf("GET %s: %d", path, resp.StatusCode)
	}
	lines := make(chan string, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	return lines
}

// nextLine returns the next line of an SSE stream that satisfies keep,
// failing the test if the stream ends or none comes within d.
func nextLine(t *testing.T, lines <-chan string, d time.Duration, keep func(string) bool) string {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			if keep(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("nothing within %v", d)
		}
	}
}

func isID(l string) bool { return strings.HasPrefix(l, "id: ") }

// A node whose engine loses its quorum, or goes away entirely, answers 503
// with Retry-After on writes and on readiness, keeps its SSE clients with
// keep-alives, and recovers on its own when the engine returns: the same
// stream then carries what is published, nothing lost or repeated.
func TestEngineLossOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three-server clusters")
	}
	tests := []struct {
		name string
		stop []int // servers stopped and restarted
	}{
		{"quorum lost", []int{0, 1}},
		{"whole cluster", []int{0, 1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t)
			n := startNode(t, c.URLs())
			var acked []uint64 // every acknowledged event's seq
			publish := func() (int, http.Header) {
				req, _ := http.NewRequest("POST", n.URL+"/v1/events", strings.NewReader(`{"topic":"app.loss","type":"t"}`))
				req.Header.Set("Authorization", "Bearer "+n.key)
				resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var out struct{ Events []storedEvent }
				if resp.StatusCode == 201 {
					if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Events) != 1 {
						t.Fatalf("publish answer: %v %+v", err, out)
					}
					acked = append(acked, out.Events[0].Seq)
				}
				return resp.StatusCode, resp.Header
			}
			status := func(path string) (int, string) {
				resp, err := http.Get(n.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if st, _ := publish(); st != 201 {
				t.Fatalf("publish: %d", st)
			}
			lines := sseLines(t, n, "/v1/stream?after=0")
			if l := nextLine(t, lines, 10*time.Second, isID); l != "id: 1" {
				t.Fatalf("first event: %q", l)
			}

			for _, i := range tc.stop {
				c.Stop(i)
			}
			outage := time.Now()
			eventually(t, 30*time.Second, func() string {
				st, h := publish()
				if st != 503 || h.Get("Retry-After") == "" {
					return fmt.Sprintf("publish without the engine: %d, Retry-After %q", st, h.Get("Retry-After"))
				}
				return ""
			})
			eventually(t, 30*time.Second, func() string {
				if st, body := status("/readyz"); st != 503 {
					return fmt.Sprintf("readyz without the engine: %d %s", st, body)
				}
				if st := n.call(t, "GET", "/v1/cluster", "", nil); st != 503 {
					return fmt.Sprintf("GET /v1/cluster without the engine: %d", st)
				}
				if v := n.metric(t, "herald_stream_has_leader"); v != "0" {
					return fmt.Sprintf("herald_stream_has_leader without the engine: %q", v)
				}
				return ""
			})
			// The stream stays open through the outage: a keep-alive comes
			// (every 15 s), no event.
			l := nextLine(t, lines, 30*time.Second, func(l string) bool { return isID(l) || strings.HasPrefix(l, ":") })
			if l != ": keep-alive" {
				t.Fatalf("during the outage the stream got %q", l)
			}

			for _, i := range tc.stop {
				if err := c.Restart(i); err != nil {
					t.Fatal(err)
				}
			}
			restarted := time.Now()
			eventually(t, 90*time.Second, func() string {
				if st, _ := publish(); st != 201 {
					return fmt.Sprintf("publish after the engine returned: %d", st)
				}
				return ""
			})
			recovered := time.Since(restarted)
			eventually(t, 60*time.Second, func() string {
				if st, body := status("/readyz"); st != 200 {
					return fmt.Sprintf("readyz after recovery: %d %s", st, body)
				}
				return ""
			})
			ready := time.Since(restarted)
			for i := 0; i < 3; i++ {
				if st, _ := publish(); st != 201 {
					t.Fatalf("publish after recovery: %d", st)
				}
			}

			// Every acknowledged event is in the log, and the stream carries
			// exactly what the log holds after event 1.
			all := readAll(t, n.URL, n.key)
			stored := map[uint64]bool{}
			for _, e := range all {
				stored[e.Seq] = true
			}
			for _, seq := range acked {
				if !stored[seq] {
					t.Fatalf("acknowledged event %d is not in the log (%d events)", seq, len(all))
				}
			}
			if len(acked) != 5 {
				t.Fatalf("%d events acknowledged, want 5", len(acked))
			}
			for _, e := range all[1:] {
				l := nextLine(t, lines, 30*time.Second, isID)
				if want := fmt.Sprintf("id: %d", e.Seq); l != want {
					t.Fatalf("after the outage the stream got %q, want %q", l, want)
				}
			}
			// The node's registry entry and metrics are current again.
			eventually(t, 30*time.Second, func() string {
				var v clusterView
				if st := n.call(t, "GET", "/v1/cluster", "", &v); st != 200 || len(v.Nodes) != 1 || v.Nodes[0].State != "fresh" {
					return fmt.Sprintf("cluster view after recovery: %d %+v", st, v)
				}
				if v := n.metric(t, "herald_stream_has_leader"); v != "1" {
					return fmt.Sprintf("herald_stream_has_leader after recovery: %q", v)
				}
				return ""
			})
			t.Logf("outage %v; after the servers restarted, publishing resumed in %v and readyz in %v",
				restarted.Sub(outage).Round(time.Millisecond), recovered.Round(time.Millisecond), ready.Round(time.Millisecond))
		})
	}
}
