// Command openhue runs openhue-go v0.4.0, unmodified, against herald's Hue
// dialect (the Go tests of herald start it): read the bridge home, devices,
// resources and lights, switch a light on at half brightness and read it
// back. It is its own module so that herald does not depend on openhue-go.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	openhue "github.com/openhue/openhue-go"
)

func main() {
	if err := run(os.Getenv("HUE_BRIDGE"), os.Getenv("HUE_KEY")); err != nil {
		fmt.Fprintln(os.Stderr, "openhue:", err)
		os.Exit(1)
	}
}

func run(bridge, key string) error {
	home, err := openhue.NewHome(bridge, key)
	if err != nil {
		return err
	}
	bh, err := home.GetBridgeHome()
	if err != nil {
		return fmt.Errorf("bridge home: %w", err)
	}
	devices, err := home.GetDevices()
	if err != nil {
		return fmt.Errorf("devices: %w", err)
	}
	resources, err := home.GetResources()
	if err != nil {
		return fmt.Errorf("resources: %w", err)
	}
	lights, err := home.GetLights()
	if err != nil {
		return fmt.Errorf("lights: %w", err)
	}
	if len(lights) == 0 {
		return fmt.Errorf("no lights")
	}
	var id string
	for id = range lights {
		break
	}
	on, bright := true, float32(50)
	if err := home.UpdateLight(id, openhue.LightPut{On: &openhue.On{On: &on}, Dimming: &openhue.Dimming{Brightness: &bright}}); err != nil {
		return fmt.Errorf("update light: %w", err)
	}
	lights, err = home.GetLights()
	if err != nil {
		return fmt.Errorf("lights again: %w", err)
	}
	l := lights[id]
	if !l.IsOn() || l.Dimming == nil || l.Dimming.Brightness == nil || *l.Dimming.Brightness != 50 {
		return fmt.Errorf("light %s after update: on=%v dimming=%+v", id, l.IsOn(), l.Dimming)
	}
	out, _ := json.Marshal(map[string]any{"ok": true, "bridge_home": *bh.Id, "devices": len(devices), "resources": len(resources), "light": id})
	fmt.Println(string(out))
	return nil
}
