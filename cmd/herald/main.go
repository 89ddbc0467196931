// Command herald is the herald event-delivery server and its command-line
// client: `herald` (or `herald serve`) runs the server; the other commands
// talk to a running one over the native API.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
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
	Key  string `name:"key" env:"HERALD_KEY" secret:"" help:"API key (client commands); default: the admin key in <data>/admin.key."`
	// CA and Insecure set how client commands check an https:// --url.
	CA       string `name:"ca" env:"HERALD_CA" type:"path" help:"PEM certificates to trust besides the system's (client commands), such as herald's self-signed <data>/tls/cert.pem."`
	Insecure bool   `name:"insecure" env:"HERALD_INSECURE" help:"Do not check the server's certificate (client commands; for a test only)."`
	// Config is read by CLI.BeforeResolve (config.go).
	Config string `name:"config" env:"HERALD_CONFIG" help:"YAML file of flag values, the flags' names as keys (retention-age: 24h); command-line flags and HERALD_* variables override it."`
}

// CLI is herald's command line.
type CLI struct {
	Globals
	PrintVersion versionFlag `name:"version" short:"v" help:"Print the version and exit."`

	Serve      ServeCmd      `cmd:"" default:"withargs" help:"Run the server (the default command)."`
	Publish    PublishCmd    `cmd:"" help:"Publish one event, or many from NDJSON."`
	Tail       TailCmd       `cmd:"" help:"Follow events as they are published; resumes after reconnections."`
	Keys       KeysCmd       `cmd:"" help:"Create, list and revoke API keys (admin)."`
	Faults     FaultsCmd     `cmd:"" help:"Inject faults to test clients: 429/503, delays, rejected keys, cut streams (admin)."`
	Routes     RoutesCmd     `cmd:"" help:"Routes: turn one dialect's events into another's actions, with CEL (admin)."`
	Webhooks   WebhooksCmd   `cmd:"" help:"Deliver events to HTTP endpoints, signed, retried: add, list, remove, replay, attempts."`
	Connectors ConnectorsCmd `cmd:"" help:"Put herald in front of a real bridge, server or account: add, list, remove connectors (admin)."`
	Hue        HueCmd        `cmd:"" help:"Hue bridge: add simulated devices, press buttons, turn dials, report sensors, press the link button (admin)."`
	Jetstream  JetstreamCmd  `cmd:"" help:"Jetstream RFID API: users and a device simulator (admin)."`
	Zulip      ZulipCmd      `cmd:"" help:"Zulip API: users and streams (admin)."`
	Plex       PlexCmd       `cmd:"" help:"Plex notifications: simulate a media server, create tokens (admin)."`
	Backup     BackupCmd     `cmd:"" help:"Back up a running server's whole state (events, keys, positions, dialect state) to one archive (admin)."`
	Restore    RestoreCmd    `cmd:"" help:"Restore an archive into a stopped server's data directory (or an external cluster)."`
	Export     ExportCmd     `cmd:"" help:"Write events as NDJSON (seq, id, time, topic, type, data)."`
	Import     ImportCmd     `cmd:"" help:"Append the events of an NDJSON export, keeping their ids: nothing is stored twice (admin)."`
	Bench      BenchCmd      `cmd:"" help:"Load tool: many subscribers, timed events, latency and cost."`
	Dev        DevCmd        `cmd:"" help:"Try herald out: a local cluster."`
	ConfigCmd  ConfigCmd     `cmd:"" name:"config" help:"Show the configuration herald serve runs with, and where each value comes from."`
	Version    VersionCmd    `cmd:"" help:"Print the version: module version, VCS revision and time, Go version."`
	Help       HelpCmd       `cmd:"" help:"Show the usage of herald or of a command."`
}

func main() {
	var cli CLI
	parser, err := kong.New(&cli, cliOptions()...)
	if err != nil {
		panic(err) // the grammar is wrong: a bug, not a user's mistake
	}
	args := os.Args[1:]
	kctx, err := parser.Parse(args)
	if err != nil {
		fail(parser, args, "", nil, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	kctx.Bind(serveFlags(func() (ServeCmd, []setting, error) {
		var again CLI
		p, err := kong.New(&again, cliOptions()...)
		if err != nil {
			return ServeCmd{}, nil, err
		}
		kc, err := p.Parse(args)
		if err != nil {
			return ServeCmd{}, nil, err
		}
		return again.Serve, settings(kc), nil
	}))
	if err := kctx.Run(&cli.Globals); err != nil {
		fail(parser, args, commandName(kctx), &cli.Globals, err)
	}
}

// fail prints err as one line and exits: 1 for a command that failed, the
// parser's usage-error status for a command line that does not parse.
func fail(k *kong.Kong, args []string, command string, g *Globals, err error) {
	var pe *kong.ParseError
	if errors.As(err, &pe) {
		fmt.Fprintln(k.Stderr, parseErrorLine(k, args, err))
		k.Exit(pe.ExitCode())
		return
	}
	if errors.Is(err, errLogged) {
		k.Exit(1)
		return
	}
	line := "herald: " + command + ": " + err.Error()
	if command != "serve" && command != "dev cluster" && g != nil { // these run a server, not talk to one
		line += hint(err, g)
	}
	fmt.Fprintln(k.Stderr, line)
	k.Exit(1)
}

// hint is what to add to err's line when the cause is likely the setup,
// not the command.
func hint(err error, g *Globals) string {
	var dns *net.DNSError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dns) {
		return "; is herald running at " + g.URL + "?"
	}
	return untrustedHint(err, g.Data)
}

// cliOptions build herald's parser (main and the tests).
func cliOptions() []kong.Option {
	return []kong.Option{
		kong.Name("herald"),
		kong.Description("herald stores every event once, durably, in one ordered log, and serves it in every shape clients already speak."),
		cliVars(),
	}
}

// cliVars are the defaults kong fills in that depend on this machine.
func cliVars() kong.Vars {
	total, perAddr := server.DefaultConnLimits()
	return kong.Vars{"max_connections": strconv.Itoa(total), "max_connections_per_ip": strconv.Itoa(perAddr)}
}
