package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/herald-io/herald/internal/connector"
)

// ConnectorsCmd manages connectors: herald in front of a real Hue bridge,
// Plex server, Zulip realm or Jetstream account (an admin key is required).
type ConnectorsCmd struct {
	Add    ConnectorsAddCmd    `cmd:"" help:"Add a connector, or change one (its position and counters are kept)."`
	List   ConnectorsListCmd   `cmd:"" help:"List the connectors: who runs each, connected or not, events, last error."`
	Remove ConnectorsRemoveCmd `cmd:"" help:"Remove connectors (the events they stored stay in the log)."`
}

// ConnectorsAddCmd adds or changes a connector.
type ConnectorsAddCmd struct {
	Name        string `arg:"" help:"The connector's name: lower-case letters, digits, '-' or '_'."`
	Kind        string `required:"" help:"hue, plex, zulip or jetstream."`
	UpstreamURL string `name:"upstream-url" required:"" help:"The upstream's base URL (https://192.168.1.2, https://api.jetstreamrfid.com)." placeholder:"URL"`
	// The secret is read from the environment or a file, never from the
	// command line, where other users of the machine can read it.
	UpstreamKeyFile string `name:"upstream-key-file" help:"A file holding the upstream's key (Hue application key, Plex token, Zulip API key, Jetstream access key); default: $HERALD_UPSTREAM_KEY; none keeps a changed connector's key." placeholder:"PATH"`
	Email           string `help:"zulip: the identity's email (a bot's or a user's), its Zulip login."`
	InsecureTLS     bool   `name:"insecure-tls" help:"Accept the upstream's certificate unchecked (a bridge's or media server's self-signed one)."`

	IO cmdIO `kong:"-"`
}

// Run stores the connector and prints it.
func (c *ConnectorsAddCmd) Run(ctx context.Context, g *Globals) error {
	key := os.Getenv("HERALD_UPSTREAM_KEY")
	if c.UpstreamKeyFile != "" {
		b, err := os.ReadFile(c.UpstreamKeyFile)
		if err != nil {
			return err // names the file
		}
		key = string(b)
	}
	spec := connector.Spec{Name: c.Name, Kind: c.Kind, URL: c.UpstreamURL, Key: strings.TrimSpace(key),
		Email: c.Email, InsecureTLS: c.InsecureTLS}
	var v connector.View
	// main prefixes the command's name.
	if err := adminCall(ctx, g, "POST", "/v1/connectors", spec, &v); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "connector %s: %s %s\n", v.Name, v.Kind, v.URL)
	return nil
}

// ConnectorsListCmd lists the connectors.
type ConnectorsListCmd struct {
	IO cmdIO `kong:"-"`
}

// Run prints the connectors as a table.
func (c *ConnectorsListCmd) Run(ctx context.Context, g *Globals) error {
	var list connector.List
	if err := adminCall(ctx, g, "GET", "/v1/connectors", nil, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.IO.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tURL\tNODE\tSTATE\tEVENTS\tRECONNECTS\tLAST ERROR")
	for _, v := range list.Connectors {
		state := "disconnected"
		switch {
		case v.State.Stopped:
			state = "stopped"
		case v.State.Connected:
			state = "connected"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", v.Name, v.Kind, v.URL, orDash(v.Node), state,
			v.State.Events, v.State.Reconnects, orDash(clipText(v.State.LastError, 60)))
	}
	return tw.Flush()
}

func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// ConnectorsRemoveCmd removes connectors.
type ConnectorsRemoveCmd struct {
	Names []string `arg:"" name:"name" help:"Names of the connectors to remove."`

	IO cmdIO `kong:"-"`
}

// Run removes each connector named.
func (c *ConnectorsRemoveCmd) Run(ctx context.Context, g *Globals) error {
	for _, name := range c.Names {
		if err := adminCall(ctx, g, "DELETE", "/v1/connectors/"+url.PathEscape(name), nil, nil); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Fprintf(c.IO.stdout(), "removed %s\n", name)
	}
	return nil
}
