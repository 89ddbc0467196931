package hue

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// reportTime is the format of button_report.updated and the other reports.
const reportTime = "2006-01-02T15:04:05.000Z"

// pressRequest is the body of POST /v1/hue/press.
type pressRequest struct {
	// Button is a button id, or a device (id or name) with ControlID.
	Button    string `json:"button"`
	ControlID int    `json:"control_id"`
	// Action is short (default), long or double.
	Action string `json:"action"`
	// Repeats is how many repeat events a long press sends (default 1).
	Repeats int `json:"repeats"`
}

// maxRepeats bounds a simulated long press.
const maxRepeats = 100

// pressSequence is what a real switch reports for an action.
func pressSequence(action string, repeats int) ([]string, error) {
	switch action {
	case "", "short":
		return []string{"initial_press", "short_release"}, nil
	case "long":
		seq := []string{"initial_press", "long_press"}
		for range repeats {
			seq = append(seq, "repeat")
		}
		return append(seq, "long_release"), nil
	case "double":
		return []string{"initial_press", "short_release", "initial_press", "double_short_release"}, nil
	}
	return nil, fmt.Errorf("%w: action must be short, long or double", errBadRequest)
}

// press handles POST /v1/hue/press: the events a physical press produces,
// appended in order in one batch, and the button's final state stored.
// The reports are dated as if the press just ended.
func (a *API) press(w http.ResponseWriter, r *http.Request) error {
	var req pressRequest
	if err := decodeStrict(r, &req); err != nil {
		return err
	}
	if req.Repeats == 0 {
		req.Repeats = 1
	}
	if req.Repeats < 0 || req.Repeats > maxRepeats {
		return fmt.Errorf("%w: repeats must be 1 to %d", errBadRequest, maxRepeats)
	}
	seq, err := pressSequence(req.Action, req.Repeats)
	if err != nil {
		return err
	}
	ctx := r.Context()
	btn, err := a.findButton(ctx, req.Button, req.ControlID)
	if err != nil {
		return err
	}
	step := 100 * time.Millisecond
	if req.Action == "long" {
		ri, _ := number(sub(btn, "button"), "repeat_interval")
		step = max(time.Duration(ri)*time.Millisecond, step)
	}
	now := a.cfg.Now().UTC()
	t := a.begin()
	for i, ev := range seq {
		at := now.Add(-time.Duration(len(seq)-1-i) * step)
		if err := t.emit(ctx, "button", str(btn, "id"), buttonReport(at, ev)); err != nil {
			return err
		}
	}
	if err := a.commit(ctx, t); err != nil {
		return err
	}
	writeData(w, map[string]any{"rid": btn["id"], "rtype": "button", "events": seq})
	return nil
}

// buttonReport is the part of a button an event ev at time at changes:
// button_report, and the deprecated last_event older clients still read.
func buttonReport(at time.Time, ev string) object {
	return object{"button": object{
		"button_report": object{"updated": at.UTC().Format(reportTime), "event": ev},
		"last_event":    ev,
	}}
}

// findButton resolves a button id, or a device id or name and control id.
func (a *API) findButton(ctx context.Context, name string, control int) (object, error) {
	if uuidRE.MatchString(name) {
		if b, err := a.store.get(ctx, "button", name); err == nil {
			return b, nil
		}
	}
	dev, err := a.findDevice(ctx, name)
	if err != nil {
		return nil, err
	}
	if control == 0 {
		control = 1
	}
	for _, s := range refs(dev, "services") {
		if s.RType != "button" {
			continue
		}
		b, err := a.store.get(ctx, "button", s.RID)
		if err != nil {
			continue
		}
		if c, _ := number(sub(b, "metadata"), "control_id"); int(c) == control {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w: device %q has no button %d", errBadRequest, name, control)
}

// findDevice resolves a device by id or (case-insensitive) name.
func (a *API) findDevice(ctx context.Context, name string) (object, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: name a device or button", errBadRequest)
	}
	if uuidRE.MatchString(name) {
		if d, err := a.store.get(ctx, "device", name); err == nil {
			return d, nil
		}
	}
	devs, err := a.store.list(ctx, "device")
	if err != nil {
		return nil, err
	}
	for _, d := range devs {
		if strings.EqualFold(str(sub(d, "metadata"), "name"), name) {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w: no device or button %q", errNotFound, name)
}

// sensorRequest is the body of POST /v1/hue/sensor: new readings of a
// device's sensors; absent fields stay as they are.
type sensorRequest struct {
	Device      string   `json:"device"`
	Motion      *bool    `json:"motion"`
	Temperature *float64 `json:"temperature"`
	LightLevel  *int     `json:"light_level"`
	Battery     *int     `json:"battery"`
	// Rotate is a tap dial turn reported at once: steps, positive
	// clockwise (POST /v1/hue/rotate reports longer turns).
	Rotate *int `json:"rotate"`
}

// sensor handles POST /v1/hue/sensor: update the device's sensor services
// and emit their update events.
func (a *API) sensor(w http.ResponseWriter, r *http.Request) error {
	var req sensorRequest
	if err := decodeStrict(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	dev, err := a.findDevice(ctx, req.Device)
	if err != nil {
		return err
	}
	now := a.cfg.Now().UTC().Format(reportTime)
	patches := map[string]object{}
	if req.Motion != nil {
		patches["motion"] = object{"motion": object{"motion": *req.Motion, "motion_valid": true,
			"motion_report": object{"changed": now, "motion": *req.Motion}}}
	}
	if v := req.Temperature; v != nil {
		if *v < -100 || *v > 100 {
			return fmt.Errorf("%w: temperature must be -100 to 100", errBadRequest)
		}
		patches["temperature"] = object{"temperature": object{"temperature": *v, "temperature_valid": true,
			"temperature_report": object{"changed": now, "temperature": *v}}}
	}
	if l := req.LightLevel; l != nil {
		if *l < 0 || *l > 100000 {
			return fmt.Errorf("%w: light_level must be 0 to 100000", errBadRequest)
		}
		patches["light_level"] = object{"light": object{"light_level": *l, "light_level_valid": true,
			"light_level_report": object{"changed": now, "light_level": *l}}}
	}
	if b := req.Battery; b != nil {
		if *b < 0 || *b > 100 {
			return fmt.Errorf("%w: battery must be 0 to 100", errBadRequest)
		}
		state := "normal"
		switch {
		case *b < 5:
			state = "critical"
		case *b < 20:
			state = "low"
		}
		patches["device_power"] = object{"power_state": object{"battery_state": state, "battery_level": *b}}
	}
	var turn []object
	if s := req.Rotate; s != nil {
		if turn, err = a.turn(*s, 0, 0); err != nil {
			return err
		}
		patches["relative_rotary"] = nil // reported below, as a turn
	}
	if len(patches) == 0 {
		return fmt.Errorf("%w: nothing to report", errBadRequest)
	}
	// Check every reading has a service before changing any.
	have := map[string]bool{}
	for _, s := range refs(dev, "services") {
		have[s.RType] = true
	}
	for rtype := range patches {
		if !have[rtype] {
			return fmt.Errorf("%w: device %q has no %s service", errBadRequest, req.Device, rtype)
		}
	}
	t := a.begin()
	var done []ref
	for _, s := range refs(dev, "services") {
		p, ok := patches[s.RType]
		if !ok {
			continue
		}
		if s.RType == "relative_rotary" {
			err = emitTurn(ctx, t, s.RID, turn)
		} else {
			_, err = t.update(ctx, s.RType, s.RID, func(o object) error {
				merge(o, p)
				return nil
			})
		}
		if err != nil {
			return err
		}
		done = append(done, s)
	}
	if err := a.commit(ctx, t); err != nil {
		return err
	}
	writeData(w, done)
	return nil
}

// decodeStrict decodes an admin request body, rejecting unknown fields.
func decodeStrict(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errBadRequest, err)
	}
	return nil
}
