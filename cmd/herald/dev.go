package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/herald-io/herald/internal/devcluster"
	"github.com/herald-io/herald/internal/server"
)

// DevCmd holds commands for trying herald out.
type DevCmd struct {
	Cluster DevClusterCmd `cmd:"" help:"Run a 3-server NATS cluster and several herald nodes on loopback, in this process."`
}

// DevClusterCmd starts a local cluster: NATS servers as a library (nothing
// is downloaded) with the stream and state replicated 3 times, and herald
// nodes on consecutive ports, all sharing the same data.
type DevClusterCmd struct {
	Servers int    `name:"servers" default:"3" help:"NATS servers in the cluster."`
	Nodes   int    `name:"nodes" default:"2" help:"herald nodes."`
	Port    int    `name:"port" default:"8080" help:"HTTP port of the first herald node; the others follow."`
	Dir     string `name:"dir" default:"./herald-dev" help:"Where the servers and nodes keep their files."`

	NATSPort        int `name:"nats-port" default:"0" help:"Client port of the first NATS server; the others follow (0: free ports)."`
	NATSClusterPort int `name:"nats-cluster-port" default:"0" help:"Cluster (route) port of the first NATS server; the others follow (0: free ports)."`
}

// Run starts everything, prints the URLs and the admin key, and runs until
// SIGINT or SIGTERM.
func (c *DevClusterCmd) Run(ctx context.Context) error {
	if c.Servers < 1 || c.Nodes < 1 {
		return fmt.Errorf("need at least one server and one node")
	}
	cl, err := devcluster.StartOn(filepath.Join(c.Dir, "nats"), c.Servers,
		devcluster.Ports{Client: c.NATSPort, Cluster: c.NATSClusterPort})
	if err != nil {
		return err
	}
	defer cl.Shutdown()
	replicas := min(3, c.Servers)
	logger := newLogger(os.Stderr, "text", slog.LevelWarn)
	var nodes []*server.Server
	defer func() {
		for _, n := range nodes {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			n.Shutdown(sctx)
			cancel()
		}
	}()
	keyFile := filepath.Join(c.Dir, "node1", "admin.key")
	for i := 0; i < c.Nodes; i++ {
		n, err := server.Start(ctx, server.Config{
			DataDir:  filepath.Join(c.Dir, "node"+strconv.Itoa(i+1)),
			HTTPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port+i)),
			NATS:     cl.URLs(),
			Replicas: replicas,
			Logger:   logger,
		})
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}
	fmt.Printf("herald dev cluster: %d NATS servers (R%d), %d herald nodes\n", c.Servers, replicas, c.Nodes)
	for i, u := range cl.URLs() {
		fmt.Printf("  nats   %s  (%s)\n", u, cl.Name(i))
	}
	for i, n := range nodes {
		fmt.Printf("  node%d  %s\n", i+1, n.URL)
	}
	fmt.Printf("  admin key in %s (valid on every node)\n", keyFile)
	fmt.Printf("  try    curl -N -H \"Authorization: Bearer $(cat %s)\" '%s/v1/stream' &\n", keyFile, nodes[len(nodes)-1].URL)
	fmt.Printf("         curl -H \"Authorization: Bearer $(cat %s)\" %s/v1/events -d '{\"topic\":\"app.hello\",\"type\":\"hi\"}'\n", keyFile, nodes[0].URL)
	<-ctx.Done()
	return nil
}
