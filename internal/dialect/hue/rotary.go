package hue

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// A tap dial reports a turn as a sequence of rotary_report events on its
// relative_rotary service: "start" when the turn begins, then "repeat"
// every report interval while it continues, each with the steps and the
// milliseconds turned since the previous report (openhue-api
// RelativeRotaryGet).

// Limits and defaults of a simulated turn.
const (
	maxTurnSteps      = 1000 // steps in one report
	maxTurnRepeats    = 100
	defaultTurnMillis = 400 // the interval a real dial reports at
	maxTurnMillis     = 10000
)

// rotateRequest is the body of POST /v1/hue/rotate.
type rotateRequest struct {
	// Device is a tap dial's id or name.
	Device string `json:"device"`
	// Steps is the rotation of each report, positive clockwise.
	Steps int `json:"steps"`
	// Repeats is how many repeat reports follow the start (default 0).
	Repeats int `json:"repeats"`
	// Duration is the milliseconds each report covers (default 400).
	Duration int `json:"duration"`
}

// turn is the relative_rotary fields of each report of a turn, dated as if
// the turn just ended.
func (a *API) turn(steps, repeats, millis int) ([]object, error) {
	if millis == 0 {
		millis = defaultTurnMillis
	}
	switch {
	case steps == 0 || steps < -maxTurnSteps || steps > maxTurnSteps:
		return nil, fmt.Errorf("%w: steps must be -%d to %d, not 0", errBadRequest, maxTurnSteps, maxTurnSteps)
	case repeats < 0 || repeats > maxTurnRepeats:
		return nil, fmt.Errorf("%w: repeats must be 0 to %d", errBadRequest, maxTurnRepeats)
	case millis < 0 || millis > maxTurnMillis:
		return nil, fmt.Errorf("%w: duration must be 1 to %d ms", errBadRequest, maxTurnMillis)
	}
	dir := "clock_wise"
	if steps < 0 {
		dir, steps = "counter_clock_wise", -steps
	}
	now := a.cfg.Now().UTC()
	step := time.Duration(millis) * time.Millisecond
	out := make([]object, 0, 1+repeats)
	for i := range 1 + repeats {
		action := "repeat"
		if i == 0 {
			action = "start"
		}
		rot := object{"direction": dir, "steps": steps, "duration": millis}
		at := now.Add(-time.Duration(repeats-i) * step)
		out = append(out, object{"relative_rotary": object{
			"rotary_report": object{"updated": at.Format(reportTime), "action": action, "rotation": rot},
			"last_event":    object{"action": action, "rotation": rot},
		}})
	}
	return out, nil
}

// emitTurn stages one update event per report of a turn.
func emitTurn(ctx context.Context, t *tx, rotary string, turn []object) error {
	for _, fields := range turn {
		if err := t.emit(ctx, "relative_rotary", rotary, fields); err != nil {
			return err
		}
	}
	return nil
}

// rotate handles POST /v1/hue/rotate: the reports of a tap dial turn,
// appended in order in one batch.
func (a *API) rotate(w http.ResponseWriter, r *http.Request) error {
	var req rotateRequest
	if err := decodeStrict(r, &req); err != nil {
		return err
	}
	turn, err := a.turn(req.Steps, req.Repeats, req.Duration)
	if err != nil {
		return err
	}
	ctx := r.Context()
	dev, err := a.findDevice(ctx, req.Device)
	if err != nil {
		return err
	}
	var rotary string
	for _, s := range refs(dev, "services") {
		if s.RType == "relative_rotary" {
			rotary = s.RID
		}
	}
	if rotary == "" {
		return fmt.Errorf("%w: device %q has no relative_rotary service", errBadRequest, req.Device)
	}
	t := a.begin()
	if err := emitTurn(ctx, t, rotary, turn); err != nil {
		return err
	}
	if err := a.commit(ctx, t); err != nil {
		return err
	}
	actions := make([]string, len(turn))
	for i, f := range turn {
		actions[i] = str(sub(sub(f, "relative_rotary"), "rotary_report"), "action")
	}
	writeData(w, map[string]any{"rid": rotary, "rtype": "relative_rotary", "events": actions})
	return nil
}
