// Command herald is the herald event-delivery server and its command-line
// client: `herald` (or `herald serve`) runs the server; the other commands
// talk to a running one over the native API.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/herald-io/herald/internal/server"
)

// Globals are flags every command understands.
type Globals struct {
	Data string `name:"data" env:"HERALD_DATA" default:"./herald-data" help:"Data directory (engine files, admin.key, TLS certificate)."`
	URL  string `name:"url" env:"HERALD_URL" default:"http://localhost:8080" help:"Base URL of the herald server (client commands)."`
	Key  string `name:"key" env:"HERALD_KEY" help:"API key (client commands); default: the admin key in <data>/admin.key."`
}

// CLI is herald's command line.
type CLI struct {
	Globals

	Serve     ServeCmd     `cmd:"" default:"withargs" help:"Run the server (the default command)."`
	Publish   PublishCmd   `cmd:"" help:"Publish one event, or many from NDJSON."`
	Tail      TailCmd      `cmd:"" help:"Follow events as they are published; resumes after reconnections."`
	Keys      KeysCmd      `cmd:"" help:"Create, list and revoke API keys (admin)."`
	Faults    FaultsCmd    `cmd:"" help:"Inject faults to test clients: 429/503, delays, rejected keys, cut streams (admin)."`
	Hue       HueCmd       `cmd:"" help:"Hue bridge: add simulated devices, press buttons, turn dials, report sensors, press the link button (admin)."`
	Jetstream JetstreamCmd `cmd:"" help:"Jetstream RFID API: users and a device simulator (admin)."`
	Zulip     ZulipCmd     `cmd:"" help:"Zulip API: users and streams (admin)."`
	Plex      PlexCmd      `cmd:"" help:"Plex notifications: simulate a media server, create tokens (admin)."`
	Bench     BenchCmd     `cmd:"" help:"Load tool: many subscribers, timed events, latency and cost."`
	Dev       DevCmd       `cmd:"" help:"Try herald out: a local cluster."`
	Version   VersionCmd   `cmd:"" help:"Print the version."`
}

func main() {
	var cli CLI
	kctx := kong.Parse(&cli,
		kong.Name("herald"),
		kong.Description("herald stores every event once, durably, in one ordered log, and serves it in every shape clients already speak."),
		kong.UsageOnError(),
		cliVars(),
	)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(&cli.Globals); err != nil {
		fmt.Fprintln(os.Stderr, "herald:", err)
		os.Exit(1)
	}
}

// cliVars are the defaults kong fills in that depend on this machine.
func cliVars() kong.Vars {
	total, perAddr := server.DefaultConnLimits()
	return kong.Vars{"max_connections": strconv.Itoa(total), "max_connections_per_ip": strconv.Itoa(perAddr)}
}
