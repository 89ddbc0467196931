package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

func TestFaultsCommands(t *testing.T) {
	ts := startServer(t, server.Config{})
	g := ts.globals()
	ctx := context.Background()
	add := func(c FaultsAddCmd) (string, error) {
		var out bytes.Buffer
		c.IO = cmdIO{Stdout: &out}
		if c.Dialect == "" {
			c.Dialect = "any"
		}
		if c.Probability == 0 {
			c.Probability = 1
		}
		err := c.Run(ctx, g)
		return out.String(), err
	}
	list := func() []string {
		t.Helper()
		var out bytes.Buffer
		if err := (&FaultsListCmd{IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil {
			t.Fatal(err)
		}
		return lines(out.String())
	}

	out, err := add(FaultsAddCmd{Action: "cut_stream", Dialect: "native", AfterEvents: 3})
	fields := strings.Fields(out)
	if err != nil || len(fields) < 2 || fields[0] != "added" || !strings.Contains(out, "cut_stream after 3 events") {
		t.Fatalf("add printed %q, %v", out, err)
	}
	cutID := strings.TrimSuffix(fields[1], ":")
	if _, err := add(FaultsAddCmd{Action: "status", Dialect: "native", Status: 503}); err != nil {
		t.Fatal(err)
	}
	// The rule is in effect: the native API answers 503, and the Go
	// client sees it as temporary.
	_, _, err = ts.admin().Poll(ctx, client.PollOptions{})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 503 || !ae.Temporary() {
		t.Fatalf("poll under a status rule: %v", err)
	}

	rows := list()
	if len(rows) != 3 || strings.Join(strings.Fields(rows[0]), " ") != "ID DIALECT KEY TOPIC CHANCE FAULT EXPIRES" ||
		!strings.HasPrefix(rows[1], cutID+" ") || !strings.Contains(rows[2], "status 503, Retry-After 1s") {
		t.Fatalf("list:\n%s", strings.Join(rows, "\n"))
	}

	// The server's refusal reaches the user, naming the field.
	if _, err := add(FaultsAddCmd{Action: "cut-stream"}); err == nil || !strings.Contains(err.Error(), "after_events, every or now") {
		t.Fatalf("a cut_stream without when: %v", err)
	}

	var cleared bytes.Buffer
	if err := (&FaultsClearCmd{IDs: []string{cutID}, IO: cmdIO{Stdout: &cleared}}).Run(ctx, g); err != nil || cleared.String() != "deleted "+cutID+"\n" {
		t.Fatalf("clear %s: %q %v", cutID, cleared.String(), err)
	}
	if err := (&FaultsClearCmd{IDs: []string{cutID}}).Run(ctx, g); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("clearing it again: %v", err)
	}
	cleared.Reset()
	if err := (&FaultsClearCmd{IO: cmdIO{Stdout: &cleared}}).Run(ctx, g); err != nil || cleared.String() != "deleted 1 rule\n" {
		t.Fatalf("clear all: %q %v", cleared.String(), err)
	}
	if rows := list(); len(rows) != 1 {
		t.Fatalf("list after clear:\n%s", strings.Join(rows, "\n"))
	}
	if _, _, err := ts.admin().Poll(ctx, client.PollOptions{}); err != nil {
		t.Fatalf("poll after clear: %v", err)
	}
}

// The newer actions are added from their flags, and listed as they are.
func TestFaultsAddNewerActions(t *testing.T) {
	ts := startServer(t, server.Config{})
	g := ts.globals()
	ctx := context.Background()
	for _, tc := range []struct {
		cmd  FaultsAddCmd
		want string
	}{
		{FaultsAddCmd{Action: "expire-queue", Dialect: "zulip", QueueID: "1700000000:1"}, "expire_queue 1700000000:1"},
		{FaultsAddCmd{Action: "expire_queue", Dialect: "any"}, "expire_queue registered before it"},
		{FaultsAddCmd{Action: "restart", Dialect: "hue", Down: 3 * time.Second}, "restart, down 3s"},
		{FaultsAddCmd{Action: "slow_read", Dialect: "native", Rate: 512}, "slow_read 512 bytes/s"},
	} {
		var out bytes.Buffer
		c := tc.cmd
		c.Probability, c.IO = 1, cmdIO{Stdout: &out}
		if err := c.Run(ctx, g); err != nil || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%+v: %q %v, want %q", tc.cmd, out.String(), err, tc.want)
		}
	}
	c := FaultsAddCmd{Action: "restart", Dialect: "plex", Probability: 0.5}
	if err := c.Run(ctx, g); err == nil || !strings.Contains(err.Error(), "probability") {
		t.Errorf("a restart with a chance: %v", err)
	}
}
