// Package devcluster runs a NATS JetStream cluster in-process on loopback:
// the engine of `herald dev cluster` and of the tests that prove herald
// nodes on one cluster share everything and survive a server's loss. The
// servers are nats-server as a library; nothing is downloaded.
package devcluster

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a set of clustered NATS servers with JetStream.
type Cluster struct {
	dir   string
	name  string
	mu    sync.Mutex
	nodes []*node
}

type node struct {
	opts *server.Options
	srv  *server.Server // nil while stopped
}

// Ports are where the servers listen: server i takes Client+i for clients
// and Cluster+i for its routes. Zero takes free ports.
type Ports struct {
	Client, Cluster int
}

// Start runs n servers (n ≥ 3 for a quorum that survives one loss) on free
// ports with their stores under dir, and waits until JetStream has a meta
// leader.
func Start(dir string, n int) (*Cluster, error) { return StartOn(dir, n, Ports{}) }

// StartOn is Start on the given ports.
func StartOn(dir string, n int, at Ports) (*Cluster, error) {
	if n < 1 {
		return nil, errors.New("devcluster: need at least one server")
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i++ {
		if at.Client > 0 {
			ports[i] = at.Client + i
		}
		if at.Cluster > 0 {
			ports[n+i] = at.Cluster + i
		}
	}
	c := &Cluster{dir: dir, name: "herald-dev"}
	var routes []*url.URL
	for i := 0; i < n; i++ {
		routes = append(routes, &url.URL{Scheme: "nats", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[n+i]))})
	}
	for i := 0; i < n; i++ {
		opts := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       ports[i],
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			NoSigs:     true,
			NoLog:      true,
			Cluster: server.ClusterOpts{
				Name: c.name, Host: "127.0.0.1", Port: ports[n+i],
			},
			Routes: routes,
		}
		if n == 1 {
			opts.Cluster, opts.Routes = server.ClusterOpts{}, nil
		}
		c.nodes = append(c.nodes, &node{opts: opts})
	}
	for i := range c.nodes {
		if err := c.startNode(i); err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	if err := c.waitReady(30 * time.Second); err != nil {
		c.Shutdown()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startNode(i int) error {
	nd := c.nodes[i]
	srv, err := server.NewServer(nd.opts)
	if err != nil {
		return fmt.Errorf("devcluster: server %s: %w", nd.opts.ServerName, err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("devcluster: server %s did not start", nd.opts.ServerName)
	}
	nd.srv = srv
	return nil
}

// WaitReady waits until every running server sees a JetStream meta leader:
// a restarted node is back in the cluster.
func (c *Cluster) WaitReady(timeout time.Duration) error { return c.waitReady(timeout) }

// waitReady waits until every running server sees a JetStream meta leader
// and the leader can place replicas on every one of them.
func (c *Cluster) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ready := true
		running, placeable := 0, -1
		c.mu.Lock()
		for _, nd := range c.nodes {
			if nd.srv == nil {
				continue
			}
			running++
			if !nd.srv.JetStreamEnabled() || (len(c.nodes) > 1 && !nd.srv.JetStreamIsClustered()) || !nd.srv.JetStreamIsCurrent() {
				ready = false
			}
			if peers := nd.srv.JetStreamClusterPeers(); peers != nil { // the meta leader
				placeable = len(peers)
			}
		}
		c.mu.Unlock()
		if len(c.nodes) > 1 && placeable < running {
			// The meta leader places replicas only on servers it has
			// stats from: until then a new stream is refused with "no
			// suitable peers for placement".
			ready = false
		}
		if ready {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("devcluster: no JetStream meta leader in time")
}

// URLs returns the client URLs of all servers, running or not (a client
// given all of them reconnects to whichever is up).
func (c *Cluster) URLs() []string {
	var out []string
	for _, nd := range c.nodes {
		out = append(out, fmt.Sprintf("nats://127.0.0.1:%d", nd.opts.Port))
	}
	return out
}

// Size returns the number of servers.
func (c *Cluster) Size() int { return len(c.nodes) }

// Name returns server i's name.
func (c *Cluster) Name(i int) string { return c.nodes[i].opts.ServerName }

// Index returns the index of the server named name, or -1.
func (c *Cluster) Index(name string) int {
	for i, nd := range c.nodes {
		if nd.opts.ServerName == name {
			return i
		}
	}
	return -1
}

// Stop shuts server i down (its files stay), as a crash or maintenance would.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	srv := c.nodes[i].srv
	c.nodes[i].srv = nil
	c.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

// Restart starts a stopped server i again on the same ports and files.
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodes[i].srv != nil {
		return nil
	}
	return c.startNode(i)
}

// Shutdown stops every server.
func (c *Cluster) Shutdown() {
	for i := range c.nodes {
		c.Stop(i)
	}
}

func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("devcluster: free port: %w", err)
		}
		lns = append(lns, ln)
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}
