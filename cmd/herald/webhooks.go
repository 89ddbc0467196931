package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/herald-io/herald/internal/webhook"
	"github.com/herald-io/herald/internal/webhook/webhookapi"
)

// WebhooksCmd manages outbound webhooks (a key that may read their topics,
// or an admin key).
type WebhooksCmd struct {
	Add      WebhooksAddCmd      `cmd:"" help:"Deliver the events of some topics to a URL, signed (Standard Webhooks)."`
	List     WebhooksListCmd     `cmd:"" help:"List webhooks and their state."`
	Remove   WebhooksRemoveCmd   `cmd:"" help:"Delete webhooks (their events stay in the log)."`
	Replay   WebhooksReplayCmd   `cmd:"" help:"Deliver again every event after a position; also resumes a failing webhook."`
	Attempts WebhooksAttemptsCmd `cmd:"" help:"Show a webhook's last delivery attempts."`
}

// WebhooksAddCmd makes a webhook.
type WebhooksAddCmd struct {
	URL     string            `arg:"" help:"Where to POST each event."`
	Topics  []string          `name:"topic" required:"" help:"Topic patterns to deliver (repeat or comma-separate), e.g. app.>."`
	Types   []string          `name:"type" help:"Only events of these types (default: all)."`
	Secret  string            `help:"The signing secret, whsec_<base64> (default: a new one, printed once)."`
	Ordered bool              `help:"One delivery at a time, in log order (default: a few at once)."`
	Rate    float64           `help:"At most this many deliveries per second (0: no limit)."`
	Headers map[string]string `name:"header" help:"Extra request headers, NAME=VALUE (repeatable)."`
	After   *uint64           `help:"Deliver the events after this position (default: from now)."`

	IO cmdIO `kong:"-"`
}

// Run makes the webhook and prints its id and secret.
func (c *WebhooksAddCmd) Run(ctx context.Context, g *Globals) error {
	spec := webhook.Spec{URL: &c.URL, Topics: c.Topics, Types: c.Types, Headers: c.Headers, After: c.After}
	if c.Secret != "" {
		spec.Secret = &c.Secret
	}
	if c.Ordered {
		spec.Ordered = &c.Ordered
	}
	if c.Rate != 0 {
		spec.Rate = &c.Rate
	}
	var made webhook.Created
	if err := adminCall(ctx, g, "POST", "/v1/webhooks", spec, &made); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "added %s: %s from position %d\nsecret: %s (shown only now)\n",
		made.ID, strings.Join(made.Topics, ","), made.Status.Position, made.Secret)
	return nil
}

// WebhooksListCmd lists webhooks.
type WebhooksListCmd struct {
	IO cmdIO `kong:"-"`
}

// Run prints the webhooks as a table.
func (c *WebhooksListCmd) Run(ctx context.Context, g *Globals) error {
	var list webhookapi.List
	if err := adminCall(ctx, g, "GET", "/v1/webhooks", nil, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.IO.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tTOPICS\tORDERED\tPOSITION\tSTATE")
	for _, w := range list.Webhooks {
		state := "delivering"
		if w.Status.Failing {
			state = "failing: " + w.Status.LastError
		} else if w.Status.Retrying > 0 {
			state = "retrying " + strconv.Itoa(w.Status.Retrying)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%d\t%s\n", w.ID, w.URL, strings.Join(w.Topics, ","), w.Ordered, w.Status.Position, state)
	}
	return tw.Flush()
}

// WebhooksRemoveCmd deletes webhooks.
type WebhooksRemoveCmd struct {
	IDs []string `arg:"" name:"id" help:"Ids of the webhooks to delete (see webhooks list)."`

	IO cmdIO `kong:"-"`
}

// Run deletes them.
func (c *WebhooksRemoveCmd) Run(ctx context.Context, g *Globals) error {
	for _, id := range c.IDs {
		if err := adminCall(ctx, g, "DELETE", "/v1/webhooks/"+id, nil, nil); err != nil {
			return fmt.Errorf("%s: %w", id, err)
		}
		fmt.Fprintf(c.IO.stdout(), "deleted %s\n", id)
	}
	return nil
}

// WebhooksReplayCmd delivers again from a position.
type WebhooksReplayCmd struct {
	ID    string `arg:"" name:"id" help:"The webhook (see webhooks list)."`
	After uint64 `required:"" help:"Deliver every event after this position (still retained) again."`

	IO cmdIO `kong:"-"`
}

// Run asks for the replay.
func (c *WebhooksReplayCmd) Run(ctx context.Context, g *Globals) error {
	var v webhook.View
	if err := adminCall(ctx, g, "POST", "/v1/webhooks/"+c.ID+"/replay", webhookapi.ReplayRequest{After: &c.After}, &v); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "replaying %s after %d\n", v.ID, c.After)
	return nil
}

// WebhooksAttemptsCmd shows the attempts log.
type WebhooksAttemptsCmd struct {
	ID string `arg:"" name:"id" help:"The webhook (see webhooks list)."`

	IO cmdIO `kong:"-"`
}

// Run prints the attempts, newest first.
func (c *WebhooksAttemptsCmd) Run(ctx context.Context, g *Globals) error {
	var as webhookapi.Attempts
	if err := adminCall(ctx, g, "GET", "/v1/webhooks/"+c.ID+"/attempts", nil, &as); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.IO.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSEQ\tTRY\tSTATUS\tLATENCY\tANSWER")
	for _, a := range as.Attempts {
		status, answer := strconv.Itoa(a.Status), a.Response
		if a.Status == 0 {
			status, answer = "-", a.Error
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.1fms\t%q\n", a.Time.Local().Format("2006-01-02 15:04:05"), a.Seq, a.Try, status, a.LatencyMS, answer)
	}
	return tw.Flush()
}
