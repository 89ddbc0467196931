package hue

import (
	"context"
	"errors"
)

// groupMembers maps each grouped_light id to the lights it controls:
// the home's to every light, a room's to the lights of its devices, a
// zone's to its lights and the lights of its devices.
func (a *API) groupMembers(ctx context.Context, t *tx) (map[string][]object, error) {
	lights, err := t.list(ctx, "light")
	if err != nil {
		return nil, err
	}
	members := map[string][]object{}
	for _, gt := range []string{"bridge_home", "room", "zone"} {
		groups, err := t.list(ctx, gt)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			in := map[string]bool{}
			for _, c := range refs(g, "children") {
				in[c.RID] = true
			}
			var ls []object
			for _, l := range lights {
				if gt == "bridge_home" || in[str(l, "id")] || in[str(sub(l, "owner"), "rid")] {
					ls = append(ls, l)
				}
			}
			for _, s := range refs(g, "services") {
				if s.RType == "grouped_light" {
					members[s.RID] = ls
				}
			}
		}
	}
	return members, nil
}

// recomputeGroups brings every grouped_light in line with its lights, as
// a bridge does: on if any light is on, brightness the mean of the lights
// that are on. The groups that change get update events.
func (a *API) recomputeGroups(ctx context.Context, t *tx) error {
	members, err := a.groupMembers(ctx, t)
	if err != nil {
		return err
	}
	groups, err := t.list(ctx, "grouped_light")
	if err != nil {
		return err
	}
	for _, g := range groups {
		ls, ok := members[str(g, "id")]
		if !ok {
			continue
		}
		on, sum, n := false, 0.0, 0
		for _, l := range ls {
			if v, _ := sub(l, "on")["on"].(bool); v {
				on = true
				if b, ok := number(sub(l, "dimming"), "brightness"); ok {
					sum += b
					n++
				}
			}
		}
		bri := 0.0
		if n > 0 {
			bri = sum / float64(n)
		}
		_, err := t.update(ctx, "grouped_light", str(g, "id"), func(o object) error {
			merge(o, object{"on": object{"on": on}, "dimming": object{"brightness": bri}})
			return nil
		})
		if errors.Is(err, errNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applyToGroup sends a grouped_light PUT to the group's lights (each takes
// what it supports) and then updates the groups.
func (a *API) applyToGroup(ctx context.Context, t *tx, group, patch object) error {
	members, err := a.groupMembers(ctx, t)
	if err != nil {
		return err
	}
	for _, l := range members[str(group, "id")] {
		_, err := t.update(ctx, "light", str(l, "id"), func(o object) error {
			merge(o, lightPatch(o, patch))
			return nil
		})
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return err
		}
	}
	return a.recomputeGroups(ctx, t)
}

// lightPatch is the part of a group's patch one light can apply.
func lightPatch(l, group object) object {
	p := object{}
	if v, ok := group["on"]; ok {
		p["on"] = v
	}
	if d := sub(l, "dimming"); d != nil {
		if b, ok := number(sub(group, "dimming"), "brightness"); ok {
			minDim, _ := number(d, "min_dim_level")
			p["dimming"] = object{"brightness": max(b, minDim)}
		}
	}
	if ct := sub(l, "color_temperature"); ct != nil {
		if m, ok := number(sub(group, "color_temperature"), "mirek"); ok {
			schema := sub(ct, "mirek_schema")
			if lo, ok := number(schema, "mirek_minimum"); ok {
				m = max(m, lo)
			}
			if hi, ok := number(schema, "mirek_maximum"); ok {
				m = min(m, hi)
			}
			p["color_temperature"] = object{"mirek": m, "mirek_valid": true}
		}
	}
	if sub(l, "color") != nil {
		if xy := sub(sub(group, "color"), "xy"); xy != nil {
			p["color"] = object{"xy": xy}
			if sub(l, "color_temperature") != nil && p["color_temperature"] == nil {
				p["color_temperature"] = object{"mirek": nil, "mirek_valid": false}
			}
		}
	}
	return p
}
