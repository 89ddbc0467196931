package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/herald-io/herald/client"
)

// TailCmd follows the log and prints each event on a line.
type TailCmd struct {
	Topics    []string `help:"Topic filters, comma-separated, e.g. app.>,hue.*.button (default: every topic the key may read)." placeholder:"FILTER"`
	After     *uint64  `xor:"start" help:"Start after this sequence number (default: only new events)." placeholder:"SEQ"`
	FromStart bool     `name:"from-start" xor:"start" help:"Start at the earliest event still stored."`
	Format    string   `default:"pretty" enum:"pretty,json" help:"Output: pretty (time, seq, topic, type, data) or json (one event object per line)."`

	IO cmdIO `kong:"-"`
}

// Run prints events until ctx ends (SIGINT), which is a clean exit. The
// stream reconnects by itself and resumes after the last printed event, so
// a server restart neither skips nor repeats anything.
func (c *TailCmd) Run(ctx context.Context, g *Globals) error {
	cl, err := newClient(g)
	if err != nil {
		return err
	}
	stderr := c.IO.stderr()
	opts := client.StreamOptions{
		Topics: c.Topics,
		After:  c.After,
		OnRetry: func(err error, wait time.Duration) {
			fmt.Fprintf(stderr, "%v; reconnecting in %s\n", err, wait)
		},
		OnReconnect: func(after uint64) {
			fmt.Fprintf(stderr, "reconnected; resuming after %d\n", after)
		},
	}
	if c.FromStart {
		opts.After = new(uint64(0))
	}
	s := cl.Stream(ctx, opts)
	defer s.Close()
	out := c.IO.stdout()
	printed := false
	for {
		ev, err := s.Next(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var apiErr *client.APIError
		if errors.Is(err, client.ErrPositionExpired) && errors.As(err, &apiErr) {
			// --from-start asks for everything there is: the earliest
			// stored event is the start. Anywhere else a gap is news the
			// user must decide on.
			if c.FromStart && !printed {
				fmt.Fprintf(stderr, "herald: starting at %d, the earliest event still stored\n", apiErr.Earliest)
				s.ResumeAfter(apiErr.Earliest - 1)
				continue
			}
			return fmt.Errorf("%w; to continue with the gap, run again with --after %d", err, apiErr.Earliest-1)
		}
		if errors.Is(err, client.ErrPositionAhead) && errors.As(err, &apiErr) {
			return fmt.Errorf("%w; to start after the server's last event, run again with --after %d", err, apiErr.Last)
		}
		if err != nil {
			return err
		}
		if err := c.print(out, ev); err != nil {
			return err
		}
		printed = true
	}
}

func (c *TailCmd) print(w io.Writer, ev client.Event) error {
	if c.Format == "json" {
		return writeJSONLine(w, ev)
	}
	_, err := fmt.Fprintf(w, "%s  %d  %s  %s  %s\n",
		ev.Time.Local().Format("2006-01-02 15:04:05.000"), ev.Seq, ev.Topic, ev.Type, ev.Data)
	return err
}
