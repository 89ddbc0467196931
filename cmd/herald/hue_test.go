package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

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
	if err := (&HueAddCmd{Product: "tap_dial", Name: "Dial", IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "relative_rotary ") {
		t.Fatalf("add tap_dial printed %q", out.String())
	}
	out.Reset()
	rotate := &HueRotateCmd{Device: "Dial", Steps: -30, Repeats: 2, Duration: 500 * time.Millisecond, IO: cmdIO{Stdout: &out}}
	if err := rotate.Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "relative_rotary ") || !strings.Contains(out.String(), ": start, repeat, repeat\n") {
		t.Fatalf("rotate printed %q", out.String())
	}
	out.Reset()
	if err := (&HueAddCmd{Product: "motion_sensor", Name: "Porch", IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	motion, temp := true, 21.5
	if err := (&HueSensorCmd{Device: "Porch", Motion: &motion, Temperature: &temp, IO: cmdIO{Stdout: &out}}).Run(ctx, g); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "motion ") || !strings.Contains(got, "temperature ") || strings.Contains(got, "light_level") {
		t.Fatalf("sensor printed %q", got)
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
	for _, tc := range []struct {
		name string
		cmd  interface {
			Run(context.Context, *Globals) error
		}
		want string
	}{
		{"rotate a dimmer", &HueRotateCmd{Device: "Hall", Steps: 10, IO: cmdIO{Stdout: &out}}, "no relative_rotary"},
		{"rotate nothing", &HueRotateCmd{Device: "Dial", IO: cmdIO{Stdout: &out}}, "steps must be"},
		{"rotate too long", &HueRotateCmd{Device: "Dial", Steps: 1, Duration: 11 * time.Second, IO: cmdIO{Stdout: &out}}, "duration must be"},
		{"rotate part of a millisecond", &HueRotateCmd{Device: "Dial", Steps: 1, Duration: 1500 * time.Microsecond, IO: cmdIO{Stdout: &out}}, "whole number of milliseconds"},
		{"rotate nobody", &HueRotateCmd{Device: "nobody", Steps: 1, IO: cmdIO{Stdout: &out}}, "404"},
		{"sensor without readings", &HueSensorCmd{Device: "Porch", IO: cmdIO{Stdout: &out}}, "nothing to report"},
		{"sensor on a dial", &HueSensorCmd{Device: "Dial", Temperature: &temp, IO: cmdIO{Stdout: &out}}, "no temperature service"},
	} {
		if err := tc.cmd.Run(ctx, g); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	// Without --key and without an admin.key file.
	if err := (&HueLinkCmd{}).Run(ctx, &Globals{URL: srv.URL, Data: t.TempDir()}); err == nil {
		t.Fatal("no key accepted")
	}
}

// TestHueParse: the flags reach the commands, including a negative step
// count and a tri-state motion reading.
func TestHueParse(t *testing.T) {
	type hueCLI struct {
		Globals
		Hue HueCmd `cmd:""`
	}
	for _, tc := range []struct {
		args  []string
		check func(c *hueCLI) bool
	}{
		{[]string{"hue", "rotate", "Dial", "--steps", "30"}, func(c *hueCLI) bool {
			r := c.Hue.Rotate
			return r.Device == "Dial" && r.Steps == 30 && r.Repeats == 0 && r.Duration == 0
		}},
		{[]string{"hue", "rotate", "Dial", "--steps=-30", "--repeats", "3", "--duration", "250ms"}, func(c *hueCLI) bool {
			r := c.Hue.Rotate
			return r.Steps == -30 && r.Repeats == 3 && r.Duration == 250*time.Millisecond
		}},
		{[]string{"hue", "sensor", "Porch", "--motion"}, func(c *hueCLI) bool {
			s := c.Hue.Sensor
			return s.Motion != nil && *s.Motion && s.Temperature == nil && s.LightLevel == nil && s.Battery == nil
		}},
		{[]string{"hue", "sensor", "Porch", "--no-motion", "--temperature=-4.5", "--light-level", "12000", "--battery", "15"}, func(c *hueCLI) bool {
			s := c.Hue.Sensor
			return s.Motion != nil && !*s.Motion && s.Temperature != nil && *s.Temperature == -4.5 &&
				s.LightLevel != nil && *s.LightLevel == 12000 && s.Battery != nil && *s.Battery == 15
		}},
		{[]string{"hue", "sensor", "Porch"}, func(c *hueCLI) bool { return c.Hue.Sensor.Motion == nil }},
	} {
		var cli hueCLI
		if _, err := newParser(t, &cli).Parse(tc.args); err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if !tc.check(&cli) {
			t.Errorf("%v: parsed %+v", tc.args, cli.Hue)
		}
	}
	var cli hueCLI
	if _, err := newParser(t, &cli).Parse([]string{"hue", "rotate", "Dial"}); err == nil {
		t.Error("rotate without --steps accepted")
	}
}
