package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// HueCmd simulates the physical side of the Hue bridge herald serves:
// devices joining, buttons pressed, the link button (an admin key is
// required).
type HueCmd struct {
	Add   HueAddCmd   `cmd:"" help:"Add a device from the catalogue (dimmer_switch, smart_button, tap_dial, color_lamp, white_ambiance, motion_sensor)."`
	Press HuePressCmd `cmd:"" help:"Press a button: the events a real switch sends."`
	Link  HueLinkCmd  `cmd:"" help:"Press the link button: apps may pair for 30 seconds."`
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
		return fmt.Errorf("hue add: %w", err)
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
		return fmt.Errorf("hue press: %w", err)
	}
	fmt.Fprintf(c.IO.stdout(), "button %s: %s\n", out.Data.RID, strings.Join(out.Data.Events, ", "))
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
		return fmt.Errorf("hue link: %w", err)
	}
	fmt.Fprintf(c.IO.stdout(), "link button pressed: apps may pair until %s\n", out.Until.Local().Format(time.TimeOnly))
	return nil
}
