package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

func TestRoutesCommands(t *testing.T) {
	ts := startServer(t, server.Config{})
	g := ts.globals()
	ctx := context.Background()
	run := func(cmd interface {
		Run(context.Context, *Globals) error
	}, out *bytes.Buffer) error {
		out.Reset()
		return cmd.Run(ctx, g)
	}
	var out bytes.Buffer
	io := cmdIO{Stdout: &out}
	add := &RoutesAddCmd{Name: "greet", IO: io, routeFlags: routeFlags{
		Topics: []string{"app.door"}, When: "data.who != ''", Action: "native.publish",
		Params: "{'topic': 'app.greet', 'data': {'hello': data.who}}",
	}}
	if err := run(add, &out); err != nil || !strings.HasPrefix(out.String(), "added route greet: native.publish from after ") {
		t.Fatalf("add: %q %v", out.String(), err)
	}
	if err := run(add, &out); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("adding it again: %v", err)
	}
	bad := &RoutesAddCmd{Name: "bad", IO: io, routeFlags: routeFlags{Topics: []string{"app.x"}, Action: "native.publish", Params: "{'topic': }"}}
	if err := run(bad, &out); err == nil || !strings.Contains(err.Error(), "bad expression: params") {
		t.Fatalf("a route that does not compile: %v", err)
	}

	acks, err := ts.admin().Publish(ctx, client.Draft{Topic: "app.door", Data: []byte(`{"who":"Ann"}`)})
	if err != nil {
		t.Fatal(err)
	}
	seq := acks[0].Seq
	test := &RoutesTestCmd{Name: "greet", Seq: seq, IO: io}
	if err := run(test, &out); err != nil || !strings.Contains(out.String(), "matches; the route would do:") ||
		!strings.Contains(out.String(), `"topic": "app.greet"`) {
		t.Fatalf("test: %q %v", out.String(), err)
	}
	test.routeFlags = routeFlags{Topics: []string{"app.door"}, When: "data.who == 'Bob'", Action: "native.publish", Params: "{'topic': 'app.greet'}"}
	if err := run(test, &out); err != nil || !strings.Contains(out.String(), "no match, nothing done") {
		t.Fatalf("test of unsaved flags: %q %v", out.String(), err)
	}

	list := &RoutesListCmd{IO: io}
	if err := run(list, &out); err != nil {
		t.Fatal(err)
	}
	rows := lines(out.String())
	if len(rows) != 2 || strings.Join(strings.Fields(rows[0]), " ") != "NAME ACTION POSITION DONE SKIPPED NODE STATE" ||
		!strings.HasPrefix(rows[1], "greet ") {
		t.Fatalf("list:\n%s", out.String())
	}
	if err := run(&RoutesRemoveCmd{Name: "greet", IO: io}, &out); err != nil || out.String() != "removed route greet\n" {
		t.Fatalf("remove: %q %v", out.String(), err)
	}
	if err := run(&RoutesRemoveCmd{Name: "greet", IO: io}, &out); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("removing it again: %v", err)
	}
}
