package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/herald-io/herald/internal/dialect/plex"
)

// PlexCmd holds the Plex dialect's commands. They talk to the server's
// /v1/plex/… admin endpoints with an admin key.
type PlexCmd struct {
	Simulate PlexSimulateCmd `cmd:"" help:"Publish simulated Plex Media Server notifications through the log."`
	Token    PlexTokenCmd    `cmd:"" help:"Create, list and revoke Plex tokens (X-Plex-Token) for Plex clients."`
}

// PlexSimulateCmd simulates a Plex Media Server.
type PlexSimulateCmd struct {
	Scan       PlexSimulateScanCmd       `cmd:"" help:"A library scan: activity started, progress, ended; timeline entries created then processed."`
	Play       PlexSimulatePlayCmd       `cmd:"" help:"A playback: playing states with an advancing viewOffset, transcode session updates, stopped."`
	Preference PlexSimulatePreferenceCmd `cmd:"" help:"A changed server setting (a preference notification)."`
}

// PlexSimulateScanCmd simulates a library scan.
type PlexSimulateScanCmd struct {
	Section   string        `default:"Movies" help:"Library section name."`
	SectionID string        `name:"section-id" default:"1" help:"Library section id."`
	Kind      string        `enum:"movie,show,artist" default:"movie" help:"What the section holds: movie, show or artist."`
	Items     int           `default:"100" help:"Items found by the scan."`
	Interval  time.Duration `default:"0s" help:"Pause between items (0: publish at once)."`

	IO cmdIO `kong:"-"`
}

// Run asks the server to run the scan and prints what it published.
func (c *PlexSimulateScanCmd) Run(ctx context.Context, g *Globals) error {
	var res plex.SimulateResponse
	err := adminCall(ctx, g, "POST", "/v1/plex/simulate/scan", plex.ScanRequest{
		Section: c.Section, SectionID: c.SectionID, Kind: c.Kind, Items: c.Items, Interval: plex.Duration(c.Interval),
	}, &res)
	if err != nil {
		return err
	}
	printSimulation(c.IO, res)
	fmt.Fprintf(c.IO.stdout(), "activity %s\n", res.Activity)
	return nil
}

// PlexSimulatePlayCmd simulates one playback.
type PlexSimulatePlayCmd struct {
	Title      string        `default:"Big Buck Bunny" help:"Title played (gives a stable ratingKey)."`
	Duration   time.Duration `default:"90m" help:"Length of the media."`
	Updates    int           `default:"10" help:"Playing states between start and stop."`
	SessionKey string        `name:"session-key" help:"Session key (default 1)."`
	RatingKey  string        `name:"rating-key" help:"Rating key (default: from the title)."`
	Client     string        `help:"Client identifier (default: a new UUID)."`
	DirectPlay bool          `name:"direct-play" help:"No transcode session."`
	Pause      bool          `help:"Pause halfway, then resume."`
	Interval   time.Duration `default:"0s" help:"Pause between updates (0: publish at once)."`

	IO cmdIO `kong:"-"`
}

// Run asks the server to run the playback and prints what it published.
func (c *PlexSimulatePlayCmd) Run(ctx context.Context, g *Globals) error {
	var res plex.SimulateResponse
	err := adminCall(ctx, g, "POST", "/v1/plex/simulate/play", plex.PlayRequest{
		Title: c.Title, Duration: plex.Duration(c.Duration), Updates: c.Updates, SessionKey: c.SessionKey,
		RatingKey: c.RatingKey, Client: c.Client, DirectPlay: c.DirectPlay, Pause: c.Pause, Interval: plex.Duration(c.Interval),
	}, &res)
	if err != nil {
		return err
	}
	printSimulation(c.IO, res)
	fmt.Fprintf(c.IO.stdout(), "session %s, ratingKey %s\n", res.SessionKey, res.RatingKey)
	return nil
}

// PlexSimulatePreferenceCmd simulates a changed server setting.
type PlexSimulatePreferenceCmd struct {
	ID      string `required:"" help:"Setting id, e.g. FriendlyName."`
	Value   string `required:"" help:"New value."`
	Type    string `enum:"bool,int,double,text" default:"text" help:"Setting type: bool, int, double or text."`
	Default string `help:"Default value (default: the new value)."`
	Label   string `help:"Label shown to people (default: the id)."`
	Group   string `help:"Settings group (default general)."`

	IO cmdIO `kong:"-"`
}

// Run publishes the preference notification.
func (c *PlexSimulatePreferenceCmd) Run(ctx context.Context, g *Globals) error {
	var res plex.SimulateResponse
	err := adminCall(ctx, g, "POST", "/v1/plex/simulate/preference", plex.PreferenceRequest{
		ID: c.ID, Value: c.Value, Type: c.Type, Default: c.Default, Label: c.Label, Group: c.Group,
	}, &res)
	if err != nil {
		return err
	}
	printSimulation(c.IO, res)
	return nil
}

func printSimulation(o cmdIO, res plex.SimulateResponse) {
	fmt.Fprintf(o.stdout(), "published %d events (seq %d–%d)\n", res.Events, res.First, res.Last)
}

// PlexTokenCmd manages Plex tokens (herald keys of the Plex dialect)
// through /v1/plex/tokens.
type PlexTokenCmd struct {
	Create PlexTokenCreateCmd `cmd:"" help:"Create a token Plex clients pass as X-Plex-Token; printed once."`
	List   PlexTokenListCmd   `cmd:"" help:"List the Plex tokens (ids and names; the tokens themselves are not stored)."`
	Revoke PlexTokenRevokeCmd `cmd:"" help:"Revoke a Plex token by its id: its clients are refused from then on."`
}

// PlexTokenCreateCmd creates a Plex token.
type PlexTokenCreateCmd struct {
	Name string  `required:"" help:"Name of the token, for people (e.g. the client using it)."`
	Rate float64 `help:"Requests per second (0: the server's default)." placeholder:"RATE"`

	IO cmdIO `kong:"-"`
}

// Run creates the token and prints its id and token.
func (c *PlexTokenCreateCmd) Run(ctx context.Context, g *Globals) error {
	var res plex.TokenResponse
	if err := adminCall(ctx, g, "POST", "/v1/plex/tokens", plex.TokenRequest{Name: c.Name, Rate: c.Rate}, &res); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "id     %s\ntoken  %s\n", res.ID, res.Token)
	fmt.Fprintln(c.IO.stderr(), "Give it to Plex clients as X-Plex-Token. Store it now: the server keeps only a hash of it.")
	return nil
}

// PlexTokenListCmd lists the Plex tokens.
type PlexTokenListCmd struct {
	IO cmdIO `kong:"-"`
}

// Run prints the tokens as a table.
func (c *PlexTokenListCmd) Run(ctx context.Context, g *Globals) error {
	var res plex.TokenList
	if err := adminCall(ctx, g, "GET", "/v1/plex/tokens", nil, &res); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.IO.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tRATE\tCREATED")
	for _, k := range res.Tokens {
		rate := "default"
		if k.Rate > 0 {
			rate = strconv.FormatFloat(k.Rate, 'g', -1, 64) + "/s"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Name, rate, k.Created.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// PlexTokenRevokeCmd revokes a Plex token.
type PlexTokenRevokeCmd struct {
	ID string `arg:"" help:"Id of the token (see plex token list)."`

	IO cmdIO `kong:"-"`
}

// Run revokes the token.
func (c *PlexTokenRevokeCmd) Run(ctx context.Context, g *Globals) error {
	if err := adminCall(ctx, g, "DELETE", "/v1/plex/tokens/"+url.PathEscape(c.ID), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "revoked %s\n", c.ID)
	return nil
}
