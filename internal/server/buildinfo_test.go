package server_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/herald-io/herald/internal/buildinfo"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// The build's version, revision and Go version are in GET /v1/cluster
// (this node's entry) and in /metrics as herald_build_info.
func TestBuildInfoInClusterAndMetrics(t *testing.T) {
	b := buildinfo.Info{Version: "v9.8.7", Revision: "0123456789abcdef", Dirty: true, Time: "2026-01-02T03:04:05Z", Go: "go1.99"}
	s := servertest.Start(t, server.Config{Build: b})
	n := &node{Server: s.Srv, key: s.Admin}

	var cluster struct {
		Node  string
		Nodes []map[string]any
	}
	if code := n.send(t, "GET", "/v1/cluster", http.Header{"Authorization": {"Bearer " + n.key}}, "", &cluster); code != 200 || len(cluster.Nodes) != 1 {
		t.Fatalf("GET /v1/cluster: %d, %d nodes", code, len(cluster.Nodes))
	}
	self := cluster.Nodes[0]
	for k, want := range map[string]any{"version": "v9.8.7", "revision": "0123456789abcdef", "dirty": true,
		"vcs_time": "2026-01-02T03:04:05Z", "go": "go1.99"} {
		if self[k] != want {
			t.Errorf("node %q = %v, want %v (node: %v)", k, self[k], want, self)
		}
	}
	sample := fmt.Sprintf(`herald_build_info{go=%q,revision=%q,version=%q}`, "go1.99", "0123456789abcdef+dirty", "v9.8.7")
	if v := n.metric(t, sample); v != "1" {
		t.Errorf("%s = %q, want 1", sample, v)
	}
}

// Without a Build in the configuration the server shows the binary's own.
func TestBuildInfoDefaultsToTheBinarys(t *testing.T) {
	s := servertest.Start(t, server.Config{})
	n := &node{Server: s.Srv, key: s.Admin}
	b := buildinfo.Read()
	sample := fmt.Sprintf(`herald_build_info{go=%q,revision=%q,version=%q}`, b.Go, b.Rev(), b.Version)
	if v := n.metric(t, sample); v != "1" {
		t.Errorf("%s = %q, want 1", sample, v)
	}
}
