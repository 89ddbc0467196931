package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/terso"
)

func TestJetstreamCommands(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	api, err := terso.New(c.Core, terso.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := c.Serve(t, api.Mount)
	g := &Globals{URL: srv.URL, Key: c.Key(t, auth.Spec{Name: "admin", Admin: true}), Data: t.TempDir()}
	ctx := context.Background()

	var out, errOut bytes.Buffer
	if err := (&JetstreamUserAddCmd{Name: "dock", Devices: []string{"reader-1"}, IO: cmdIO{Stdout: &out, Stderr: &errOut}}).Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(out.String())
	if len(f) != 5 || f[0] != "id" || len(f[4]) != 36 {
		t.Fatalf("add printed %q", out.String())
	}
	id, accessKey := f[1], f[4]
	get := func() int {
		req, _ := http.NewRequest("GET", srv.URL+"/3/events", nil)
		req.Header.Set("AccessKey", accessKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != 200 {
		t.Fatalf("access key: %d", s)
	}
	out.Reset()
	if err := (&JetstreamSimulateCmd{Device: "reader-1", Sensors: []string{"temperature"}, SensorEvery: 1,
		Objects: 2, ObjectsEvery: 1, Rounds: 1, IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if n := len(lines(out.String())); n != 2 {
		t.Fatalf("simulate printed %q", out.String())
	}
	out.Reset()
	if err := (&JetstreamUserListCmd{IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if rows := lines(out.String()); len(rows) != 2 || !strings.HasPrefix(rows[1], id+" ") || !strings.Contains(rows[1], "true") {
		t.Fatalf("list %q", out.String())
	}
	if err := (&JetstreamUserRemoveCmd{ID: id, IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if s := get(); s != 401 {
		t.Fatalf("removed user: %d", s)
	}
	if err := (&JetstreamUserRemoveCmd{ID: id}).Run(ctx, g); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("remove twice: %v", err)
	}
}

// `jetstream simulate --device D` with nothing else reads tags for a few
// rounds and ends, saying so: it neither runs forever nor sends only
// heartbeats.
func TestJetstreamSimulateDefaults(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	api, err := terso.New(c.Core, terso.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := c.Serve(t, api.Mount)
	var cli struct {
		Globals
		Jetstream JetstreamCmd `cmd:""`
	}
	if _, err := newParser(t, &cli).Parse([]string{"--url", srv.URL, "--key", c.Key(t, auth.Spec{Name: "admin", Admin: true}),
		"jetstream", "simulate", "--device", "reader-1"}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	cmd := cli.Jetstream.Simulate
	cmd.IO = cmdIO{Stdout: &out, Stderr: &errOut}
	if err := cmd.Run(context.Background(), &cli.Globals); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, l := range lines(out.String()) {
		kinds[strings.Fields(l)[1]]++
	}
	if kinds["ObjectEvent"] != 5 || kinds["HeartbeatEvent"] != 1 || len(kinds) != 2 {
		t.Fatalf("printed %q; want a heartbeat and 5 tag reads", out.String())
	}
	if want := "reader-1: published 6 events in 5 rounds (--rounds 0: until interrupted)\n"; errOut.String() != want {
		t.Fatalf("stderr %q, want %q", errOut.String(), want)
	}
}
