package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/faults/faultapi"
)

// FaultsCmd manages fault rules, for testing clients against a bad day
// (an admin key is required).
type FaultsCmd struct {
	Add   FaultsAddCmd   `cmd:"" help:"Add a fault rule: status (429/503), delay, reject_key, cut_stream, expire_queue, restart or slow_read."`
	List  FaultsListCmd  `cmd:"" help:"List the fault rules in effect."`
	Clear FaultsClearCmd `cmd:"" help:"Delete the fault rules named, or all of them."`
}

// FaultsAddCmd adds a rule.
type FaultsAddCmd struct {
	Action      string        `arg:"" help:"status, delay, reject_key, cut_stream, expire_queue, restart or slow_read."`
	Dialect     string        `default:"any" help:"native, hue, zulip, jetstream, plex or any."`
	KeyID       string        `name:"key-id" help:"Only the requests and streams of the key with this id (see keys list)." placeholder:"ID"`
	Topic       string        `help:"Only streams whose filter may deliver this topic pattern (cut_stream, delay)." placeholder:"PATTERN"`
	Probability float64       `default:"1" help:"Chance that the rule applies to a request or stream, 0 to 1."`
	TTL         time.Duration `name:"ttl" help:"Delete the rule this long after it is made (0: keep it)."`
	Status      int           `help:"status: 429 or 503 (default 503)."`
	RetryAfter  time.Duration `name:"retry-after" help:"status: the Retry-After sent (default 1s)."`
	Delay       time.Duration `help:"delay: how long each request, and each write of a stream, is held."`
	AfterEvents int           `name:"after-events" help:"cut_stream: end each stream after this many events."`
	Every       time.Duration `help:"cut_stream: end each stream this long after it opened."`
	Now         bool          `help:"cut_stream: end the streams open now."`
	QueueID     string        `name:"queue-id" help:"expire_queue: only this Zulip queue (default: every queue of the key, or of all keys, registered before the rule)." placeholder:"ID"`
	Down        time.Duration `help:"restart: how long every request of the dialect answers 503 (default 5s)."`
	Rate        int           `help:"slow_read: bytes a second at which request bodies are read and streams written." placeholder:"BYTES"`

	IO cmdIO `kong:"-"`
}

// Run adds the rule and prints it.
func (c *FaultsAddCmd) Run(ctx context.Context, g *Globals) error {
	p := c.Probability
	spec := faults.Spec{
		Dialect: c.Dialect, Key: c.KeyID, Topic: c.Topic, Probability: &p, TTL: durationText(c.TTL),
		Action: faults.Action(strings.ReplaceAll(c.Action, "-", "_")), Status: c.Status,
		RetryAfter: durationText(c.RetryAfter), Delay: durationText(c.Delay),
		AfterEvents: c.AfterEvents, Every: durationText(c.Every), Now: c.Now,
		QueueID: c.QueueID, Down: durationText(c.Down), Rate: c.Rate,
	}
	if spec.Action == faults.Restart && p == 1 {
		spec.Probability = nil // a restart has none; the flag's default is not a choice
	}
	var r faults.Rule
	if err := adminCall(ctx, g, "POST", "/v1/faults", spec, &r); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "added %s: %s\n", r.ID, describe(r))
	return nil
}

func durationText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// FaultsListCmd lists the rules.
type FaultsListCmd struct {
	IO cmdIO `kong:"-"`
}

// Run prints the rules as a table.
func (c *FaultsListCmd) Run(ctx context.Context, g *Globals) error {
	var list faultapi.List
	if err := adminCall(ctx, g, "GET", "/v1/faults", nil, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.IO.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIALECT\tKEY\tTOPIC\tCHANCE\tFAULT\tEXPIRES")
	for _, r := range list.Faults {
		expires := "-"
		if r.Expires != nil {
			expires = r.Expires.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Dialect, orDash(r.Key), orDash(r.Topic),
			strconv.FormatFloat(r.Probability, 'g', -1, 64), describe(r), expires)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// describe says what a rule does, in a few words.
func describe(r faults.Rule) string {
	switch {
	case r.Action == faults.Status:
		return fmt.Sprintf("status %d, Retry-After %s", r.Status, time.Duration(r.RetryAfter))
	case r.Action == faults.Delay:
		return "delay " + time.Duration(r.Delay).String()
	case r.AfterEvents > 0:
		return fmt.Sprintf("cut_stream after %d events", r.AfterEvents)
	case r.Every > 0:
		return "cut_stream every " + time.Duration(r.Every).String()
	case r.Now:
		return "cut_stream now"
	case r.Action == faults.ExpireQueue && r.QueueID != "":
		return "expire_queue " + r.QueueID
	case r.Action == faults.ExpireQueue:
		return "expire_queue registered before it"
	case r.Action == faults.Restart:
		return "restart, down " + time.Duration(r.Down).String()
	case r.Action == faults.SlowRead:
		return fmt.Sprintf("slow_read %d bytes/s", r.Rate)
	}
	return string(r.Action)
}

// FaultsClearCmd deletes rules.
type FaultsClearCmd struct {
	IDs []string `arg:"" optional:"" name:"id" help:"Ids of the rules to delete (see faults list); none: all."`

	IO cmdIO `kong:"-"`
}

// Run deletes the rules.
func (c *FaultsClearCmd) Run(ctx context.Context, g *Globals) error {
	if len(c.IDs) == 0 {
		var res faultapi.Cleared
		if err := adminCall(ctx, g, "DELETE", "/v1/faults", nil, &res); err != nil {
			return err
		}
		plural := "s"
		if res.Deleted == 1 {
			plural = ""
		}
		fmt.Fprintf(c.IO.stdout(), "deleted %d rule%s\n", res.Deleted, plural)
		return nil
	}
	for _, id := range c.IDs {
		if err := adminCall(ctx, g, "DELETE", "/v1/faults/"+id, nil, nil); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		fmt.Fprintf(c.IO.stdout(), "deleted %s\n", id)
	}
	return nil
}
