package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/herald-io/herald/internal/route"
	"github.com/herald-io/herald/internal/route/routeapi"
)

// RoutesCmd manages routes, which turn one dialect's events into another's
// actions (an admin key is required).
type RoutesCmd struct {
	Add    RoutesAddCmd    `cmd:"" help:"Add a route: topics, a CEL condition, an action (native.publish, zulip.message, hue.put)."`
	List   RoutesListCmd   `cmd:"" help:"List the routes and how far each has got."`
	Remove RoutesRemoveCmd `cmd:"" help:"Remove a route."`
	Test   RoutesTestCmd   `cmd:"" help:"Show what a route would do with a stored event, without doing it."`
}

// routeFlags are a route's fields as flags (or a whole route from --file).
type routeFlags struct {
	File   string   `short:"f" help:"The route as JSON (- for stdin); the flags below are then not needed." placeholder:"FILE"`
	Topics []string `help:"Source topic patterns, comma-separated." placeholder:"PATTERN"`
	When   string   `help:"CEL condition over event (seq, id, time, topic, type) and data; empty: every event." placeholder:"EXPR"`
	Action string   `help:"native.publish, zulip.message or hue.put."`
	As     string   `help:"Id of the key the action acts as (a Zulip user's key, a Hue application's key)." placeholder:"KEY-ID"`
	Params string   `help:"CEL map of the action's parameters, e.g. {'topic': 'app.x', 'data': data}." placeholder:"EXPR"`
	Start  string   `help:"now (default), earliest, or a sequence to start after."`
}

func (f *routeFlags) spec(name string) (route.Spec, error) {
	if f.File != "" {
		raw, err := readFileOrStdin(f.File)
		if err != nil {
			return route.Spec{}, err
		}
		s, err := route.ParseSpec(raw)
		if err != nil {
			return route.Spec{}, err
		}
		if s.Name == "" {
			s.Name = name
		}
		return s, nil
	}
	return route.Spec{Name: name, Topics: f.Topics, When: f.When, Start: f.Start,
		Action: route.Action{Kind: f.Action, As: f.As, Params: f.Params}}, nil
}

func readFileOrStdin(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(io.LimitReader(os.Stdin, routeapi.MaxBody+1))
	}
	return os.ReadFile(path)
}

// RoutesAddCmd adds a route.
type RoutesAddCmd struct {
	Name string `arg:"" help:"The route's name (letters, digits, - and _)."`
	routeFlags

	IO cmdIO `kong:"-"`
}

// Run adds the route.
func (c *RoutesAddCmd) Run(ctx context.Context, g *Globals) error {
	spec, err := c.spec(c.Name)
	if err != nil {
		return err
	}
	var st route.Status
	if err := adminCall(ctx, g, "POST", "/v1/routes", spec, &st); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "added route %s: %s from after %d\n", st.Name, st.Action.Kind, st.State.Position)
	return nil
}

// RoutesListCmd lists the routes.
type RoutesListCmd struct {
	IO cmdIO `kong:"-"`
}

// Run prints the routes as a table.
func (c *RoutesListCmd) Run(ctx context.Context, g *Globals) error {
	var list routeapi.List
	if err := adminCall(ctx, g, "GET", "/v1/routes", nil, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.IO.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tACTION\tPOSITION\tDONE\tSKIPPED\tNODE\tSTATE")
	for _, r := range list.Routes {
		state := "ok"
		if r.State.Failing {
			state = "failing at " + strconv.FormatUint(r.State.Stuck, 10) + ": " + r.State.LastError
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", r.Name, r.Action.Kind, r.State.Position,
			r.State.Done, r.State.Skipped, orDash(r.Node), state)
	}
	return tw.Flush()
}

// RoutesRemoveCmd removes a route.
type RoutesRemoveCmd struct {
	Name string `arg:"" help:"The route to remove."`

	IO cmdIO `kong:"-"`
}

// Run removes the route.
func (c *RoutesRemoveCmd) Run(ctx context.Context, g *Globals) error {
	if err := adminCall(ctx, g, "DELETE", "/v1/routes/"+c.Name, nil, nil); err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	fmt.Fprintf(c.IO.stdout(), "removed route %s\n", c.Name)
	return nil
}

// RoutesTestCmd tests a route, stored or given by flags, on a stored event.
type RoutesTestCmd struct {
	Name string `arg:"" help:"The route (a stored one, unless its fields are given)."`
	Seq  uint64 `required:"" help:"The stored event to test it on."`
	routeFlags

	IO cmdIO `kong:"-"`
}

// Run prints what the route would do.
func (c *RoutesTestCmd) Run(ctx context.Context, g *Globals) error {
	req := routeapi.TestRequest{Seq: c.Seq}
	if c.File != "" || c.Action != "" {
		spec, err := c.spec(c.Name)
		if err != nil {
			return err
		}
		req.Route = &spec
	}
	var res route.TestResult
	if err := adminCall(ctx, g, "POST", "/v1/routes/"+c.Name+"/test", req, &res); err != nil {
		return err
	}
	out := c.IO.stdout()
	switch {
	case res.Error != "":
		fmt.Fprintf(out, "event %d: the route fails: %s\n", c.Seq, res.Error)
	case !res.Matched:
		fmt.Fprintf(out, "event %d (%s): no match, nothing done\n", c.Seq, res.Event.Topic)
	default:
		plan, _ := json.MarshalIndent(res.Plan, "", "  ")
		fmt.Fprintf(out, "event %d (%s) matches; the route would do:\n%s\n", c.Seq, res.Event.Topic, plan)
	}
	return nil
}
