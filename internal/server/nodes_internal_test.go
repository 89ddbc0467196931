package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/herald-io/herald/internal/eventlog"
)

func TestClassifyNodes(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	entry := func(key string, rec nodeRecord) eventlog.Entry {
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		return eventlog.Entry{Key: key, Value: b}
	}
	beat := func(ago time.Duration, everyMS int64) nodeRecord {
		return nodeRecord{Heartbeat: now.Add(-ago), HeartbeatMS: everyMS, Started: now.Add(-time.Hour)}
	}
	tests := []struct {
		name  string
		entry eventlog.Entry
		state string
		ageMS int64
	}{
		{"just written", entry("a", beat(0, 5000)), nodeFresh, 0},
		{"one heartbeat late", entry("a", beat(9*time.Second, 5000)), nodeFresh, 9000},
		{"three heartbeats missed", entry("a", beat(15*time.Second, 5000)), nodeFresh, 15000},
		{"more than three missed", entry("a", beat(15*time.Second+time.Millisecond, 5000)), nodeStale, 15001},
		{"its own interval counts", entry("a", beat(4*time.Second, 1000)), nodeStale, 4000},
		{"no interval: the default", entry("a", beat(14*time.Second, 0)), nodeFresh, 14000},
		{"clock ahead of ours", entry("a", beat(-2*time.Second, 5000)), nodeFresh, 0},
		{"no heartbeat", entry("a", nodeRecord{}), nodeStale, 0},
		{"undecodable", eventlog.Entry{Key: "a", Value: []byte("{")}, nodeStale, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classifyNodes([]eventlog.Entry{tc.entry}, "b", now)
			if len(got) != 1 {
				t.Fatalf("%d nodes", len(got))
			}
			n := got[0]
			if n.ID != "a" || n.State != tc.state || n.Self || (tc.state == nodeFresh && n.AgeMS != tc.ageMS) {
				t.Fatalf("got id %q state %s age %d self %t, want a %s %d", n.ID, n.State, n.AgeMS, n.Self, tc.state, tc.ageMS)
			}
			if tc.name == "undecodable" && n.Error == "" {
				t.Fatal("an undecodable entry has no error")
			}
		})
	}

	// Oldest first, ties by id; the answering node marked.
	recs := []eventlog.Entry{
		entry("c", nodeRecord{ID: "c", Started: now.Add(-time.Minute), Heartbeat: now}),
		entry("b", nodeRecord{ID: "b", Started: now.Add(-time.Hour), Heartbeat: now}),
		entry("a", nodeRecord{ID: "a", Started: now.Add(-time.Minute), Heartbeat: now}),
	}
	var order []string
	for _, n := range classifyNodes(recs, "a", now) {
		order = append(order, n.ID)
		if n.Self != (n.ID == "a") {
			t.Errorf("node %s: self %t", n.ID, n.Self)
		}
	}
	if !slices.Equal(order, []string{"b", "a", "c"}) {
		t.Errorf("order %v", order)
	}
}

func TestAdvertisedURLs(t *testing.T) {
	tests := []struct {
		name        string
		host        string
		addrs, urls []string
		want        []string
	}{
		{"every interface", "box", []string{":8080", ":8443"},
			[]string{"http://localhost:8080", "https://localhost:8443"},
			[]string{"http://box:8080", "https://box:8443"}},
		{"unspecified address", "box", []string{"0.0.0.0:8080", "[::]:8443"},
			[]string{"http://localhost:8080", "https://localhost:8443"},
			[]string{"http://box:8080", "https://box:8443"}},
		{"a chosen address stays", "box", []string{"127.0.0.1:8080", "localhost:8443"},
			[]string{"http://127.0.0.1:8080", "https://localhost:8443"},
			[]string{"http://127.0.0.1:8080", "https://localhost:8443"}},
		{"no host name", "", []string{":8080", ""},
			[]string{"http://localhost:8080", ""},
			[]string{"http://localhost:8080"}},
		{"no listener", "box", []string{"", ""}, []string{"", ""}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := advertisedURLs(tc.host, tc.addrs, tc.urls); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// On the embedded engine the node lists itself, and entries it did not
// write — a node that stopped heartbeating, one it cannot read — are
// listed stale, and counted so in the metrics.
func TestRegistryOnEmbeddedEngine(t *testing.T) {
	ctx := context.Background()
	s, err := Start(ctx, Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	}()
	kv, err := s.eventLog.KV(ctx, nodesBucket)
	if err != nil {
		t.Fatal(err)
	}
	gone, _ := json.Marshal(nodeRecord{ID: "gone", Started: time.Now().Add(-time.Hour),
		Heartbeat: time.Now().Add(-time.Minute), HeartbeatMS: 5000})
	for key, value := range map[string][]byte{"gone": gone, "garbled": []byte("not json")} {
		if _, err := kv.Put(ctx, key, value); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.eventLog.Append(ctx, []eventlog.Draft{{Topic: "app.x", Type: "t"}, {Topic: "app.x", Type: "t"}}); err != nil {
		t.Fatal(err)
	}
	// The hub delivers both, then a heartbeat records it.
	for deadline := time.Now().Add(10 * time.Second); s.hub.Last() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the hub did not deliver the events")
		}
	}
	if err := s.nodes.beat(ctx); err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	if err := s.cluster(rec, httptest.NewRequest("GET", "/v1/cluster", nil), nil); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Stream eventlog.ClusterInfo
		Node   string
		Nodes  []clusterNode
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || rec.Code != 200 {
		t.Fatalf("GET /v1/cluster: %d %s", rec.Code, rec.Body)
	}
	states := map[string]string{}
	for _, n := range v.Nodes {
		states[n.ID] = n.State
		if n.ID == s.NodeID() && (!n.Self || n.Tail != 2 || n.Lag != 0 || n.PID == 0 || len(n.URLs) != 1 || n.URLs[0] != s.URL) {
			t.Errorf("self entry %+v", n)
		}
	}
	want := map[string]string{s.NodeID(): nodeFresh, "gone": nodeStale, "garbled": nodeStale}
	if v.Node != s.NodeID() || len(states) != 3 || states["gone"] != want["gone"] ||
		states["garbled"] != want["garbled"] || states[s.NodeID()] != want[s.NodeID()] {
		t.Errorf("node %s, states %v, want %v", v.Node, states, want)
	}
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"fresh nodes", gaugeValue(t, s.metrics.ClusterNodes.WithLabelValues(nodeFresh)), 1},
		{"stale nodes", gaugeValue(t, s.metrics.ClusterNodes.WithLabelValues(nodeStale)), 2},
		{"tail lag", gaugeValue(t, s.metrics.TailLag), 0},
		{"stream replicas", gaugeValue(t, s.metrics.StreamReplicas), 1},
		{"stream replicas current", gaugeValue(t, s.metrics.StreamReplicasCurrent), 1},
		{"stream has leader", gaugeValue(t, s.metrics.StreamHasLeader), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
