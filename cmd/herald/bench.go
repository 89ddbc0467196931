package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
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

// BenchCmd is the load tool: N subscribers in one of several modes (herald's
// native SSE, WebSocket or long-poll, its Hue, Plex or Zulip dialect, or any
// server's SSE), K publishers at a fixed rate or as fast as possible, and a
// report of latency, completeness and cost.
type BenchCmd struct {
	Mode        string        `name:"mode" enum:"sse,ws,poll,sub,hue,plex,zulip,jetstream,generic" default:"sse" help:"Subscribers: sse, ws, poll, sub (native: stream, WebSocket, long-poll, durable subscription), hue (event stream), plex (WebSocket), zulip (event queues), jetstream (Get and Delete Events), generic (any server's SSE, see --sub-url)."`
	Subscribers int           `name:"subscribers" short:"n" default:"1000" help:"Subscribers (streams, sockets or queues)."`
	Publishers  int           `name:"publishers" short:"k" default:"4" help:"Concurrent publishers."`
	Rate        float64       `name:"rate" default:"20" help:"Events per second in total; 0 publishes as fast as possible."`
	Duration    time.Duration `name:"duration" default:"20s" help:"How long to publish."`
	Events      int           `name:"events" help:"Stop after this many events in total (0: publish for --duration)."`
	Drain       time.Duration `name:"drain" default:"10s" help:"After publishing, stop waiting for deliveries when none came for this long."`
	Payload     int           `name:"payload" default:"200" help:"Extra payload bytes per event (~300-byte events by default)."`
	Topic       string        `name:"topic" default:"bench.load" help:"Topic to publish to and subscribe (hue and plex prefix theirs; zulip: the stream)."`
	PullEvery   time.Duration `name:"pull-every" default:"1s" help:"--mode jetstream: how often a subscriber asks for events, as the vendor's service base does on its timer (Jetstream has no long-poll)."`
	PID         int           `name:"pid" help:"Server process id, to report its CPU per delivery and RSS per connection."`
	Spawn       bool          `name:"spawn" help:"Start a herald on a temporary data directory for the run (implies --url and --pid)."`

	SubURL    string   `name:"sub-url" group:"--mode generic (any server's SSE)" help:"SSE URL each subscriber opens; {topic}, {url} and {key} are replaced."`
	PubURL    string   `name:"pub-url" group:"--mode generic (any server's SSE)" help:"URL an event is published to."`
	PubMethod string   `name:"pub-method" group:"--mode generic (any server's SSE)" default:"POST" help:"Publish method."`
	PubBody   string   `name:"pub-body" group:"--mode generic (any server's SSE)" help:"Publish body; {payload} becomes the event's payload (letters, digits, '~': put it in a JSON string or a form value)."`
	SubHeader []string `name:"sub-header" group:"--mode generic (any server's SSE)" sep:"none" help:"Subscribe header \"Name: value\" (repeatable)."`
	PubHeader []string `name:"pub-header" group:"--mode generic (any server's SSE)" sep:"none" help:"Publish header \"Name: value\" (repeatable)."`

	Floor         bool          `name:"floor" help:"First measure this machine's bare cost of a write (a round of ~300-byte writes to N loopback connections per event, at --rate, one writer per core), to compare the server's CPU per delivery with."`
	FloorDuration time.Duration `name:"floor-duration" default:"3s" help:"How long --floor writes."`
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
		switch {
		case err == nil:
			key = strings.TrimSpace(string(b))
		case c.Mode != loadgen.ModeGeneric: // which needs no key of herald's
			return fmt.Errorf("no --key and no admin key: %w", err)
		}
	}
	res, err := loadgen.Run(ctx, c.config(url, key, pid))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return err
	}
	printBench(os.Stdout, res, pid > 0)
	if res.Missing > 0 || res.Duplicates > 0 {
		return fmt.Errorf("%d missing and %d duplicate deliveries", res.Missing, res.Duplicates)
	}
	return nil
}

// config is the run the flags describe.
func (c *BenchCmd) config(url, key string, pid int) loadgen.Config {
	return loadgen.Config{
		Mode: c.Mode, URL: url, Key: key, Subscribers: c.Subscribers, Publishers: c.Publishers, Rate: c.Rate,
		Duration: c.Duration, Events: c.Events, Drain: c.Drain, Topic: c.Topic, Payload: c.Payload, ServerPID: pid,
		PullEvery: c.PullEvery,
		// A spawned server goes away with its data; on another, the run's
		// users and keys should not stay behind.
		Cleanup: !c.Spawn,
		SubURL:  c.SubURL, PubURL: c.PubURL, PubMethod: c.PubMethod, PubBody: c.PubBody,
		SubHeaders: c.SubHeader, PubHeaders: c.PubHeader,
		Floor: c.Floor, FloorDuration: c.FloorDuration,
		Progress: func(p loadgen.Progress) {
			fmt.Fprintf(os.Stderr, "\r%-7s %5.0fs  %d subscribers  %d published  %d delivered   ",
				p.Phase, p.Elapsed.Seconds(), p.Connected, p.Published, p.Delivered)
		},
	}
}

// printBench prints the result as a table, then as one JSON line.
func printBench(w io.Writer, res loadgen.Result, server bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "mode\t%s\t\n", res.Mode)
	fmt.Fprintf(tw, "subscribers\t%d\t(connected in %.2fs, settled in %.2fs)\n", res.Subscribers, res.ConnectSeconds, res.SettleSeconds)
	fmt.Fprintf(tw, "published\t%d\t(%.0f/s, publish p99 %.1f ms)\n", res.Published, res.PublishRate, res.PublishP99ms)
	fmt.Fprintf(tw, "delivered\t%d\t(%.0f/s)\n", res.Delivered, res.DeliveredRate)
	fmt.Fprintf(tw, "missing / duplicates\t%d / %d\t(%d subscribers incomplete, %d lost)\n", res.Missing, res.Duplicates, res.Incomplete, res.Lost)
	fmt.Fprintf(tw, "latency p50 / p99 / p999 / max\t%.1f / %.1f / %.1f / %.1f ms\t\n", res.LatencyP50ms, res.LatencyP99ms, res.LatencyP999ms, res.LatencyMaxms)
	if res.Batches > 0 {
		fmt.Fprintf(tw, "pulls\t%d requests, %d batches\t(%.1f events per batch)\n", res.Requests, res.Batches, float64(res.Delivered)/float64(res.Batches))
	}
	if server {
		fmt.Fprintf(tw, "server\t%.1f µs CPU per delivery\t(%.2f s CPU, %.1f KiB RSS per connection)\n", res.ServerCPUus, res.ServerCPUSeconds, res.ServerKiBPerConn)
	}
	fmt.Fprintf(tw, "this tool\t%.1f µs CPU per delivery\t(%.2f s CPU, %.2f allocations per delivery)\n", res.ToolCPUus, res.ToolCPUSeconds, res.ToolAllocs)
	if res.FloorCPUus > 0 {
		ratio := "-"
		if res.ServerPerFloor > 0 {
			ratio = fmt.Sprintf("%.2f×", res.ServerPerFloor)
		}
		fmt.Fprintf(tw, "floor (bare write)\t%.1f µs CPU per write\tserver / floor %s\n", res.FloorCPUus, ratio)
	}
	tw.Flush()
	for _, m := range res.Warnings {
		fmt.Fprintln(w, "warning:", m) // after the table: too long for its columns
	}
	b, _ := json.Marshal(res)
	fmt.Fprintln(w, string(b))
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
	// No connection caps, and no cap on one key's streams (the tool opens
	// them all with one key): the tool measures the server up to its
	// open-file limit, and the caps (below it) would refuse subscribers
	// first. Other settings come from HERALD_* variables (HERALD_IO_URING).
	cmd := exec.Command(exe, "serve", "--data", dir, "--http", addr, "--https", "", "--log-level", "warn",
		"--max-connections", "0", "--max-connections-per-ip", "0", "--streams-per-key", "0")
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
