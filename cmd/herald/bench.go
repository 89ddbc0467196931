package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/herald-io/herald/internal/loadgen"
)

// BenchCmd is the load tool: N native SSE subscribers, K publishers at a
// fixed rate or as fast as possible, and a report of latency, completeness
// and cost.
type BenchCmd struct {
	Subscribers int           `name:"subscribers" short:"n" default:"1000" help:"SSE subscribers."`
	Publishers  int           `name:"publishers" short:"k" default:"4" help:"Concurrent publishers."`
	Rate        float64       `name:"rate" default:"20" help:"Events per second in total; 0 publishes as fast as possible."`
	Duration    time.Duration `name:"duration" default:"20s" help:"How long to publish."`
	Payload     int           `name:"payload" default:"200" help:"Extra payload bytes per event (~300-byte events by default)."`
	Topic       string        `name:"topic" default:"bench.load" help:"Topic to publish to and subscribe."`
	PID         int           `name:"pid" help:"Server process id, to report its CPU per delivery and RSS per connection."`
	Spawn       bool          `name:"spawn" help:"Start a herald on a temporary data directory for the run (implies --url and --pid)."`
}

// Run runs the load and prints a table and one JSON line.
func (c *BenchCmd) Run(ctx context.Context, g *Globals) error {
	url, key, pid := g.URL, g.Key, c.PID
	if c.Spawn {
		stop, u, k, p, err := spawnServer(ctx)
		if err != nil {
			return err
		}
		defer stop()
		url, key, pid = u, k, p
	} else if key == "" {
		b, err := os.ReadFile(filepath.Join(g.Data, "admin.key"))
		if err != nil {
			return fmt.Errorf("no --key and no admin key: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	res, err := loadgen.Run(ctx, loadgen.Config{
		URL: url, Key: key, Subscribers: c.Subscribers, Publishers: c.Publishers, Rate: c.Rate,
		Duration: c.Duration, Topic: c.Topic, Payload: c.Payload, ServerPID: pid,
		Progress: func(p loadgen.Progress) {
			fmt.Fprintf(os.Stderr, "\r%5.0fs  %d subscribers  %d published  %d delivered   ",
				p.Elapsed.Seconds(), p.Connected, p.Published, p.Delivered)
		},
	})
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "subscribers\t%d\t(connected in %.2fs)\n", res.Subscribers, res.ConnectSeconds)
	fmt.Fprintf(tw, "published\t%d\t(%.0f/s, publish p99 %.1f ms)\n", res.Published, res.PublishRate, res.PublishP99ms)
	fmt.Fprintf(tw, "delivered\t%d\t(%.0f/s)\n", res.Delivered, res.DeliveredRate)
	fmt.Fprintf(tw, "missing / duplicates\t%d / %d\t\n", res.Missing, res.Duplicates)
	fmt.Fprintf(tw, "latency p50 / p99 / p999 / max\t%.1f / %.1f / %.1f / %.1f ms\t\n", res.LatencyP50ms, res.LatencyP99ms, res.LatencyP999ms, res.LatencyMaxms)
	if pid > 0 {
		fmt.Fprintf(tw, "server\t%.1f µs CPU per delivery\t%.1f KiB RSS per connection\n", res.ServerCPUus, res.ServerKiBPerConn)
	}
	fmt.Fprintf(tw, "this tool\t%.1f µs CPU per delivery\t\n", res.ToolCPUus)
	tw.Flush()
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if res.Missing > 0 || res.Duplicates > 0 {
		return fmt.Errorf("%d missing and %d duplicate deliveries", res.Missing, res.Duplicates)
	}
	return nil
}

// spawnServer starts this binary as a server on a temporary data directory.
func spawnServer(ctx context.Context) (stop func(), url, key string, pid int, err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", "", 0, err
	}
	dir, err := os.MkdirTemp("", "herald-bench-")
	if err != nil {
		return nil, "", "", 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", "", 0, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(exe, "serve", "--data", dir, "--http", addr, "--https", "", "--log-level", "warn")
	cmd.Stderr = os.Stderr
	dieWithParent(cmd) // if this tool dies (a closed pipe, kill), the server goes too
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, "", "", 0, err
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		os.RemoveAll(dir)
	}
	url = "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return nil, "", "", 0, fmt.Errorf("spawned server did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := os.ReadFile(filepath.Join(dir, "admin.key"))
	if err != nil {
		stop()
		return nil, "", "", 0, err
	}
	return stop, url, strings.TrimSpace(string(b)), cmd.Process.Pid, nil
}
