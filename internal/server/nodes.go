package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/buildinfo"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/metrics"
)

// The node registry: every herald node on an engine keeps an entry about
// itself in one KV bucket, rewritten every heartbeat, so that any node can
// answer "which nodes serve this log, and how far behind is each" (GET
// /v1/cluster, /metrics) without the nodes knowing each other's addresses.
const (
	nodesBucket = "herald-nodes"
	// heartbeatEvery is how often a node rewrites its entry.
	heartbeatEvery = 5 * time.Second
	// staleBeats is how many heartbeats a node may miss before it is listed
	// as stale: one late write is normal under load, three are not.
	staleBeats = 3
	// nodesTTL is when the engine drops an entry nobody rewrote: a node that
	// died without deregistering is listed as stale for a while (so that an
	// operator sees it went away) and then disappears.
	nodesTTL = 12 * heartbeatEvery
)

// Node states in GET /v1/cluster and herald_cluster_nodes.
const (
	nodeFresh = "fresh"
	nodeStale = "stale"
)

// nodeRecord is what a node writes about itself at each heartbeat.
type nodeRecord struct {
	ID             string    `json:"id"`
	Host           string    `json:"host"`
	PID            int       `json:"pid"`
	buildinfo.Info           // version, revision, dirty, vcs_time, go
	URLs           []string  `json:"urls,omitempty"` // where clients reach it, as far as it knows
	Started        time.Time `json:"started"`
	// Heartbeat is when the node wrote this record; it promises the next
	// within HeartbeatMS.
	Heartbeat   time.Time `json:"heartbeat"`
	HeartbeatMS int64     `json:"heartbeat_ms"`
	// Tail is the last sequence the node's hub had delivered, and Lag how
	// far that was behind the stream's last sequence, both measured by the
	// node at Heartbeat (a lag computed later against a newer last sequence
	// would count the events appended since as the node's delay).
	Tail uint64 `json:"tail"`
	Lag  uint64 `json:"lag"`
	// Subscribers are the node's open streaming connections by transport.
	Subscribers map[string]int64 `json:"subscribers,omitempty"`
}

// clusterNode is a node as GET /v1/cluster lists it.
type clusterNode struct {
	nodeRecord
	State string `json:"state"`           // fresh or stale
	AgeMS int64  `json:"age_ms"`          // since its heartbeat, by this node's clock
	Self  bool   `json:"self,omitempty"`  // the node answering
	Error string `json:"error,omitempty"` // an entry that could not be read
}

// clusterSource is the log's stream state (eventlog.Log).
type clusterSource interface {
	Cluster(ctx context.Context) (eventlog.ClusterInfo, error)
}

// tailPosition is how far this node's tail has read (hub.Hub).
type tailPosition interface {
	Last() uint64
}

// nodeRegistry keeps this node's entry in the nodes bucket fresh and
// updates the cluster metrics at each heartbeat.
type nodeRegistry struct {
	kv      eventlog.KV
	log     clusterSource
	tail    tailPosition
	metrics *metrics.Metrics
	logger  *slog.Logger
	every   time.Duration

	mu   sync.Mutex
	self nodeRecord

	cancel  context.CancelFunc
	done    chan struct{}
	stopped sync.Once
}

// newNodeID returns a random id for this process. A node is its process,
// not its data directory: data directories get copied (images, volumes),
// and two live nodes must never share an entry. A restarted node is a new
// entry; its predecessor's was deleted at shutdown or, after a crash, turns
// stale and then expires.
func newNodeID() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// startNodeRegistry writes this node's first entry (so that it is listed as
// soon as it serves) and starts the heartbeat.
func startNodeRegistry(ctx context.Context, kv eventlog.KV, log clusterSource, tail tailPosition,
	m *metrics.Metrics, logger *slog.Logger, self nodeRecord) (*nodeRegistry, error) {
	r := &nodeRegistry{kv: kv, log: log, tail: tail, metrics: m, logger: logger, every: heartbeatEvery, self: self}
	r.self.HeartbeatMS = r.every.Milliseconds()
	if err := r.beat(ctx); err != nil {
		return nil, fmt.Errorf("register node %s: %w", self.ID, err)
	}
	bg, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.run(bg)
	return r, nil
}

// run rewrites the entry every heartbeat until ctx ends. A failing engine
// is logged once when the heartbeats start failing and once when they work
// again; in between the entry turns stale on every other node.
func (r *nodeRegistry) run(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, r.every)
		err := r.beat(bctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			r.logger.Warn("node heartbeat failing; other nodes will list this one as stale", "node", r.self.ID, "err", err)
		case err == nil && failing:
			r.logger.Info("node heartbeat restored", "node", r.self.ID)
		}
		failing = err != nil
	}
}

// beat measures this node's position against the stream, writes the entry
// and refreshes the cluster metrics. It fails, and writes nothing, when the
// stream cannot be reached: a node that cannot reach the log is not serving
// it, and its entry going stale says so.
func (r *nodeRegistry) beat(ctx context.Context) error {
	// The tail before the stream's end: read the other way round, events
	// appended in between would hide a real lag.
	tail := r.tail.Last()
	info, err := r.log.Cluster(ctx)
	if err != nil {
		r.metrics.StreamHasLeader.Set(0)
		return err
	}
	r.setStreamMetrics(info)

	r.mu.Lock()
	r.self.Heartbeat = time.Now().UTC()
	r.self.Tail = tail
	r.self.Lag = 0
	if info.Last > tail {
		r.self.Lag = info.Last - tail
	}
	r.self.Subscribers = r.metrics.LiveSubscribers()
	b, err := json.Marshal(r.self)
	lag := r.self.Lag
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("node entry: %w", err)
	}
	r.metrics.TailLag.Set(float64(lag))
	if _, err := r.kv.Put(ctx, r.self.ID, b); err != nil {
		return err
	}

	nodes, err := r.list(ctx)
	if err != nil {
		return err
	}
	counts := map[string]int{nodeFresh: 0, nodeStale: 0}
	for _, n := range nodes {
		counts[n.State]++
	}
	for state, n := range counts {
		r.metrics.ClusterNodes.WithLabelValues(state).Set(float64(n))
	}
	return nil
}

func (r *nodeRegistry) setStreamMetrics(info eventlog.ClusterInfo) {
	leader, replicas, current := 0.0, 0.0, 0.0
	if info.Leader != "" {
		leader, replicas, current = 1, 1, 1
	}
	for _, p := range info.Replicas {
		replicas++
		if p.Current && !p.Offline {
			current++
		}
	}
	r.metrics.StreamHasLeader.Set(leader)
	r.metrics.StreamReplicas.Set(replicas)
	r.metrics.StreamReplicasCurrent.Set(current)
}

// list returns every registered node, oldest first.
func (r *nodeRegistry) list(ctx context.Context) ([]clusterNode, error) {
	entries, err := r.kv.List(ctx, "")
	if err != nil {
		return nil, err
	}
	return classifyNodes(entries, r.self.ID, time.Now()), nil
}

// classifyNodes decodes the registry's entries and marks each fresh or
// stale by the age of its heartbeat at now. An entry that cannot be decoded
// (written by a newer herald, say) is listed stale with its error rather
// than hidden.
func classifyNodes(entries []eventlog.Entry, self string, now time.Time) []clusterNode {
	nodes := make([]clusterNode, 0, len(entries))
	for _, e := range entries {
		var n clusterNode
		if err := json.Unmarshal(e.Value, &n.nodeRecord); err != nil {
			n = clusterNode{nodeRecord: nodeRecord{ID: e.Key}, Error: err.Error()}
		}
		if n.ID == "" {
			n.ID = e.Key
		}
		every := time.Duration(n.HeartbeatMS) * time.Millisecond
		if every <= 0 {
			every = heartbeatEvery
		}
		age := now.Sub(n.Heartbeat)
		n.AgeMS = max(age, 0).Milliseconds()
		n.State = nodeFresh
		if n.Error != "" || n.Heartbeat.IsZero() || age > staleBeats*every {
			n.State = nodeStale
		}
		n.Self = n.ID == self
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b clusterNode) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return nodes
}

// close stops the heartbeat and deletes this node's entry, so that the
// other nodes stop listing it at once. It is safe to call more than once.
func (r *nodeRegistry) close(ctx context.Context) {
	r.stopped.Do(func() {
		r.cancel()
		<-r.done
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		err := r.kv.Delete(ctx, r.self.ID, 0)
		if err != nil && !errors.Is(err, eventlog.ErrKeyNotFound) {
			// The entry turns stale and expires with the bucket's TTL.
			r.logger.Warn("node deregistration failed", "node", r.self.ID, "err", err)
		}
	})
}

// register opens the nodes bucket and enters this node in it.
func (s *Server) register(ctx context.Context) error {
	id := s.nodeID
	kv, err := s.eventLog.KV(ctx, nodesBucket, eventlog.KVTTL(nodesTTL))
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	self := nodeRecord{
		ID: id, Host: host, PID: os.Getpid(), Info: s.cfg.Build, Started: time.Now().UTC(),
		URLs: advertisedURLs(host, []string{s.cfg.HTTPAddr, s.cfg.HTTPSAddr}, []string{s.URL, s.TLSURL}),
	}
	s.nodes, err = startNodeRegistry(ctx, kv, s.eventLog, s.hub, s.metrics, s.log, self)
	return err
}

// NodeID returns this node's id in the node registry (GET /v1/cluster).
func (s *Server) NodeID() string { return s.nodeID }

// advertisedURLs returns the base URLs other hosts can use: a listener on
// every interface is named by the host name rather than "localhost".
func advertisedURLs(host string, addrs, urls []string) []string {
	var out []string
	for i, u := range urls {
		if u == "" {
			continue
		}
		if h, _, err := net.SplitHostPort(addrs[i]); err == nil && host != "" {
			if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
				u = strings.Replace(u, "://localhost:", "://"+host+":", 1)
			}
		}
		out = append(out, u)
	}
	return out
}
