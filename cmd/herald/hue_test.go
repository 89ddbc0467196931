package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/hue"
)

func TestHueCommands(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	api, err := hue.New(c.Core, hue.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := c.Serve(t, api.Mount)
	g := &Globals{URL: srv.URL, Key: c.Key(t, auth.Spec{Name: "admin", Admin: true}), Data: t.TempDir()}
	ctx := context.Background()

	var out bytes.Buffer
	add := &HueAddCmd{Product: "dimmer_switch", Name: "Hall", IO: cmdIO{Stdout: &out}}
	if err := add.Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "button "); n != 4 || !strings.Contains(out.String(), "device ") {
		t.Fatalf("add printed %q", out.String())
	}
	out.Reset()
	press := &HuePressCmd{Button: "Hall", Control: 3, Long: true, Repeats: 2, IO: cmdIO{Stdout: &out}}
	if err := press.Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "initial_press, long_press, repeat, repeat, long_release") {
		t.Fatalf("press printed %q", out.String())
	}
	out.Reset()
	if err := (&HueLinkCmd{IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil || !strings.Contains(out.String(), "link button pressed") {
		t.Fatalf("link: %v %q", err, out.String())
	}
	// Errors carry the server's description.
	err = (&HueAddCmd{Product: "toaster", IO: cmdIO{Stdout: &out}}).Run(ctx, g)
	if err == nil || !strings.Contains(err.Error(), "unknown product") {
		t.Fatalf("bad product: %v", err)
	}
	err = (&HuePressCmd{Button: "nobody", Control: 1, IO: cmdIO{Stdout: &out}}).Run(ctx, g)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown button: %v", err)
	}
	// Without --key and without an admin.key file.
	if err := (&HueLinkCmd{}).Run(ctx, &Globals{URL: srv.URL, Data: t.TempDir()}); err == nil {
		t.Fatal("no key accepted")
	}
}
