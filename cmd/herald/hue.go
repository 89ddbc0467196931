package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// HueCmd simulates the physical side of the Hue bridge herald serves:
// devices joining, buttons pressed, dials turned, sensor readings, the
// link button (an admin key is required). Each goes through the log like
// any event.
type HueCmd struct {
	Add    HueAddCmd    `cmd:"" help:"Add a device from the catalogue (dimmer_switch, smart_button, tap_dial, color_lamp, white_ambiance, motion_sensor)."`
	Press  HuePressCmd  `cmd:"" help:"Press a button: the events a real switch sends."`
	Rotate HueRotateCmd `cmd:"" help:"Turn a tap dial: a start report, then repeats."`
	Sensor HueSensorCmd `cmd:"" help:"Report sensor readings: motion, temperature, light level, battery."`
	Link   HueLinkCmd   `cmd:"" help:"Press the link button: apps may pair for 30 seconds."`
}

// HueAddCmd adds a device from the catalogue.
type HueAddCmd struct {
	Product string `arg:"" help:"Product: dimmer_switch, smart_button, tap_dial, color_lamp, white_ambiance, motion_sensor."`
	Name    string `help:"Name of the device (default: the product's name)."`

	IO cmdIO `kong:"-"`
}

// Run adds the device and prints its resources.
func (c *HueAddCmd) Run(ctx context.Context, g *Globals) error {
	var out struct {
		Data []struct{ RID, RType string }
	}
	if err := adminCall(ctx, g, "POST", "/v1/hue/devices", map[string]string{"product": c.Product, "name": c.Name}, &out); err != nil {
		return err
	}
	for _, r := range out.Data {
		fmt.Fprintf(c.IO.stdout(), "%-20s %s\n", r.RType, r.RID)
	}
	return nil
}

// HuePressCmd presses a button.
type HuePressCmd struct {
	Button  string `arg:"" help:"Button id, or a device's id or name (then --control picks the button)."`
	Control int    `help:"Button number on the device (control_id), default 1." default:"1"`
	Long    bool   `help:"Long press: initial_press, long_press, repeat…, long_release." xor:"kind"`
	Double  bool   `help:"Double press." xor:"kind"`
	Repeats int    `help:"Repeat events of a long press." default:"1"`

	IO cmdIO `kong:"-"`
}

// Run presses the button and prints the events it produced.
func (c *HuePressCmd) Run(ctx context.Context, g *Globals) error {
	action := "short"
	switch {
	case c.Long:
		action = "long"
	case c.Double:
		action = "double"
	}
	var out struct {
		Data struct {
			RID    string   `json:"rid"`
			Events []string `json:"events"`
		}
	}
	req := map[string]any{"button": c.Button, "control_id": c.Control, "action": action, "repeats": c.Repeats}
	if err := adminCall(ctx, g, "POST", "/v1/hue/press", req, &out); err != nil {
		return fmt.Errorf("button %q: %w", c.Button, err)
	}
	fmt.Fprintf(c.IO.stdout(), "button %s: %s\n", out.Data.RID, strings.Join(out.Data.Events, ", "))
	return nil
}

// HueRotateCmd turns a tap dial (POST /v1/hue/rotate).
type HueRotateCmd struct {
	Device   string        `arg:"" help:"The tap dial's device id or name."`
	Steps    int           `required:"" help:"Steps of each report, positive clockwise, negative counter-clockwise (--steps=-30)."`
	Repeats  int           `help:"Repeat reports after the start report."`
	Duration time.Duration `help:"Time each report covers, in whole milliseconds (default: 400ms, as a real dial reports)."`

	IO cmdIO `kong:"-"`
}

// Run turns the dial and prints the reports it produced.
func (c *HueRotateCmd) Run(ctx context.Context, g *Globals) error {
	// The endpoint takes milliseconds: refuse what it would round, rather
	// than report a turn other than the one asked for.
	if c.Duration < 0 || c.Duration%time.Millisecond != 0 {
		return fmt.Errorf("--duration must be a positive whole number of milliseconds, not %s", c.Duration)
	}
	var out struct {
		Data struct {
			RID    string   `json:"rid"`
			Events []string `json:"events"`
		}
	}
	req := map[string]any{"device": c.Device, "steps": c.Steps, "repeats": c.Repeats,
		"duration": c.Duration.Milliseconds()}
	if err := adminCall(ctx, g, "POST", "/v1/hue/rotate", req, &out); err != nil {
		return fmt.Errorf("tap dial %q: %w", c.Device, err)
	}
	fmt.Fprintf(c.IO.stdout(), "relative_rotary %s: %s\n", out.Data.RID, strings.Join(out.Data.Events, ", "))
	return nil
}

// HueSensorCmd reports sensor readings (POST /v1/hue/sensor); readings not
// given stay as they are.
type HueSensorCmd struct {
	Device      string   `arg:"" help:"The sensor's device id or name."`
	Motion      *bool    `negatable:"" help:"Motion detected (--motion), or no longer (--no-motion)."`
	Temperature *float64 `help:"Temperature in °C (below zero: --temperature=-4.5)."`
	LightLevel  *int     `name:"light-level" help:"Light level (10000×log10(lux)+1)."`
	Battery     *int     `help:"Battery level, percent."`

	IO cmdIO `kong:"-"`
}

// Run reports the readings and prints the services that changed.
func (c *HueSensorCmd) Run(ctx context.Context, g *Globals) error {
	// Absent readings stay out of the body: the endpoint leaves them be.
	req := map[string]any{"device": c.Device}
	if c.Motion != nil {
		req["motion"] = *c.Motion
	}
	if c.Temperature != nil {
		req["temperature"] = *c.Temperature
	}
	if c.LightLevel != nil {
		req["light_level"] = *c.LightLevel
	}
	if c.Battery != nil {
		req["battery"] = *c.Battery
	}
	if len(req) == 1 {
		return fmt.Errorf("nothing to report: give --motion, --temperature, --light-level or --battery")
	}
	var out struct {
		Data []struct{ RID, RType string }
	}
	if err := adminCall(ctx, g, "POST", "/v1/hue/sensor", req, &out); err != nil {
		return fmt.Errorf("sensor %q: %w", c.Device, err)
	}
	for _, r := range out.Data {
		fmt.Fprintf(c.IO.stdout(), "%-20s %s\n", r.RType, r.RID)
	}
	return nil
}

// HueLinkCmd presses the link button.
type HueLinkCmd struct {
	IO cmdIO `kong:"-"`
}

// Run presses the link button.
func (c *HueLinkCmd) Run(ctx context.Context, g *Globals) error {
	var out struct {
		Until time.Time `json:"until"`
	}
	if err := adminCall(ctx, g, "POST", "/v1/hue/link", struct{}{}, &out); err != nil {
		return err
	}
	fmt.Fprintf(c.IO.stdout(), "link button pressed: apps may pair until %s\n", out.Until.Local().Format(time.TimeOnly))
	return nil
}
