package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// JetstreamCmd manages the Jetstream dialect (an admin key is required).
type JetstreamCmd struct {
	User     JetstreamUserCmd     `cmd:"" help:"Add, list and remove Jetstream users (AccessKey GUIDs)."`
	Simulate JetstreamSimulateCmd `cmd:"" help:"Run a simulated RFID device that publishes Jetstream events."`
}

// JetstreamUserCmd manages Jetstream users.
type JetstreamUserCmd struct {
	Add    JetstreamUserAddCmd    `cmd:"" help:"Add a user and print its access key, once."`
	List   JetstreamUserListCmd   `cmd:"" help:"List the users and their subscriptions."`
	Remove JetstreamUserRemoveCmd `cmd:"" help:"Remove a user: its access key and subscription stop working."`
}

// jetstreamUser is a user as the admin endpoints return it.
type jetstreamUser struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Devices    []string   `json:"devices"`
	Created    time.Time  `json:"created"`
	AccessKey  string     `json:"access_key"`
	Subscribed bool       `json:"subscribed"`
	LastActive *time.Time `json:"last_active"`
}

// JetstreamUserAddCmd adds a user.
type JetstreamUserAddCmd struct {
	Name    string   `required:"" help:"Name of the user, for people."`
	Devices []string `name:"device" help:"Only events of these devices; repeat or comma-separate (default: all)." placeholder:"DEVICE"`
	Rate    float64  `help:"Requests per second (0: the server's default)." placeholder:"RATE"`

	IO cmdIO `kong:"-"`
}

// Run adds the user and prints its id and access key.
func (c *JetstreamUserAddCmd) Run(ctx context.Context, g *Globals) error {
	var u jetstreamUser
	body := map[string]any{"name": c.Name, "devices": c.Devices, "rate": c.Rate}
	if err := adminCall(ctx, g, "POST", "/v1/jetstream/users", body, &u); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "id          %s\naccess key  %s\n", u.ID, u.AccessKey)
	fmt.Fprintln(c.IO.stderr(), "Store the access key now: the server keeps only a hash of it and cannot show it again.")
	return nil
}

// JetstreamUserListCmd lists the users.
type JetstreamUserListCmd struct {
	IO cmdIO `kong:"-"`
}

// Run prints the users as a table.
func (c *JetstreamUserListCmd) Run(ctx context.Context, g *Globals) error {
	var out struct {
		Users []jetstreamUser `json:"users"`
	}
	if err := adminCall(ctx, g, "GET", "/v1/jetstream/users", nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.IO.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tDEVICES\tSUBSCRIBED\tLAST GET\tCREATED")
	for _, u := range out.Users {
		last := "-"
		if u.LastActive != nil {
			last = u.LastActive.Local().Format("2006-01-02 15:04")
		}
		devices := "all"
		if len(u.Devices) > 0 {
			devices = strings.Join(u.Devices, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\t%s\n", u.ID, u.Name, devices, u.Subscribed, last,
			u.Created.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// JetstreamUserRemoveCmd removes a user.
type JetstreamUserRemoveCmd struct {
	ID string `arg:"" help:"Id of the user (see jetstream user list)."`

	IO cmdIO `kong:"-"`
}

// Run removes the user.
func (c *JetstreamUserRemoveCmd) Run(ctx context.Context, g *Globals) error {
	if err := adminCall(ctx, g, "DELETE", "/v1/jetstream/users/"+c.ID, nil, nil); err != nil {
		return fmt.Errorf("user %s: %w", c.ID, err)
	}
	fmt.Fprintf(c.IO.stdout(), "removed %s\n", c.ID)
	return nil
}

// JetstreamSimulateCmd runs a simulated RFID reader: a heartbeat on every
// tick, and sensor readings, observed tags and inventory changes on their
// own intervals. The server builds the events, so they have exactly the
// shapes real devices report. By default it reads tags a few times and
// ends, so that a first try shows something; --rounds 0 runs on.
type JetstreamSimulateCmd struct {
	Device         string        `required:"" help:"Device name (one topic token)."`
	Heartbeat      time.Duration `default:"30s" help:"Heartbeat interval (0: no heartbeats); the first round sends one."`
	Sensors        []string      `name:"sensor" help:"Sensor names to report, e.g. temperature; repeat or comma-separate." placeholder:"NAME"`
	SensorEvery    time.Duration `default:"60s" help:"Sensor reading interval."`
	Objects        int           `default:"3" help:"Tags in each ObjectEvent (0: none)."`
	ObjectsEvery   time.Duration `default:"500ms" help:"ObjectEvent (tags read) interval."`
	AggregateEvery time.Duration `default:"0s" help:"AggregateEvent (tags added/removed) interval (0: none)."`
	Rounds         int           `default:"5" help:"Stop after this many rounds of events (0: run until interrupted)."`

	IO cmdIO `kong:"-"`
}

// Run publishes events until ctx ends or Rounds rounds were sent.
func (c *JetstreamSimulateCmd) Run(ctx context.Context, g *Globals) error {
	type kind struct {
		every time.Duration
		next  time.Time
		set   func(map[string]any)
	}
	now := time.Now()
	var kinds []*kind
	add := func(every time.Duration, set func(map[string]any)) {
		if every > 0 {
			kinds = append(kinds, &kind{every: every, next: now, set: set})
		}
	}
	add(c.Heartbeat, func(m map[string]any) { m["heartbeat"] = true })
	if len(c.Sensors) > 0 {
		add(c.SensorEvery, func(m map[string]any) { m["sensors"] = c.Sensors })
	}
	if c.Objects > 0 {
		add(c.ObjectsEvery, func(m map[string]any) { m["objects"] = c.Objects })
	}
	add(c.AggregateEvery, func(m map[string]any) { m["aggregate"] = true })
	if len(kinds) == 0 {
		return errors.New("nothing to simulate: give --heartbeat, --sensor, --objects or --aggregate-every")
	}
	published := 0
	for round := 1; ; round++ {
		req := map[string]any{"device": c.Device}
		due := time.Now()
		for _, k := range kinds {
			if !k.next.After(due) {
				k.set(req)
				k.next = k.next.Add(k.every)
			}
		}
		var out struct {
			Events []struct {
				Seq     uint64 `json:"seq"`
				EventID string `json:"event_id"`
				Type    string `json:"type"`
			} `json:"events"`
		}
		if err := adminCall(ctx, g, "POST", "/v1/jetstream/simulate", req, &out); err != nil {
			return err
		}
		for _, ev := range out.Events {
			fmt.Fprintf(c.IO.stdout(), "%d\t%s\t%s\n", ev.Seq, ev.Type, ev.EventID)
		}
		published += len(out.Events)
		if c.Rounds > 0 && round >= c.Rounds {
			fmt.Fprintf(c.IO.stderr(), "%s: published %d events in %d rounds (--rounds 0: until interrupted)\n", c.Device, published, round)
			return nil
		}
		next := kinds[0].next
		for _, k := range kinds[1:] {
			if k.next.Before(next) {
				next = k.next
			}
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
