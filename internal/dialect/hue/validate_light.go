package hue

// Light and grouped_light PUT bodies (openhue-api LightPut, GroupedLightPut).

var (
	deltaActions  = []string{"up", "down", "stop"}
	signalValues  = []string{"no_signal", "on_off", "on_off_color", "alternating"}
	lightPutField = []string{"on", "dimming", "dimming_delta", "color_temperature", "color_temperature_delta",
		"color", "dynamics", "alert", "signaling", "mode", "effects", "timed_effects", "powerup", "gradient",
		"identify", "metadata"}
)

// number reads a float64 from a stored resource.
func number(o object, k string) (float64, bool) {
	v, ok := o[k].(float64)
	return v, ok
}

func validateLight(cur object, f fields) (object, error) {
	if err := f.only("", lightPutField...); err != nil {
		return nil, err
	}
	patch, err := lightState(cur, f, false)
	if err != nil {
		return nil, err
	}
	if err := action(f, "identify", "identify"); err != nil {
		return nil, err
	}
	if m, err := metadata(f, true); err != nil {
		return nil, err
	} else if len(m) > 0 {
		patch["metadata"] = m
	}
	if mode, ok, err := f.enum("", "mode", false, "normal", "streaming"); err != nil {
		return nil, err
	} else if ok {
		patch["mode"] = mode
	}
	if e, ok, err := f.obj("", "effects", "effect"); err != nil {
		return nil, err
	} else if ok {
		have := sub(cur, "effects")
		values, _ := have["effect_values"].([]any)
		allowed := make([]string, 0, len(values))
		for _, v := range values {
			if s, ok := v.(string); ok {
				allowed = append(allowed, s)
			}
		}
		if len(allowed) == 0 {
			return nil, badf("effects: not supported by this light")
		}
		eff, _, err := e.enum("effects", "effect", true, allowed...)
		if err != nil {
			return nil, err
		}
		patch["effects"] = object{"status": eff}
	}
	for _, k := range []string{"timed_effects", "powerup", "gradient"} {
		if _, ok := f[k]; ok && sub(cur, k) == nil {
			return nil, badf("%s: not supported by this light", k)
		} else if ok {
			return nil, badf("%s: not supported by herald yet", k)
		}
	}
	return patch, nil
}

func validateGroupedLight(cur object, f fields) (object, error) {
	if err := f.only("", "on", "dimming", "dimming_delta", "color_temperature", "color_temperature_delta",
		"color", "dynamics", "alert", "signaling"); err != nil {
		return nil, err
	}
	return lightState(cur, f, true)
}

// lightState validates the state fields lights and grouped lights share.
// A group accepts colour and colour temperature (its lights that support
// them apply them) without holding them itself.
func lightState(cur object, f fields, group bool) (object, error) {
	patch := object{}
	if o, ok, err := f.obj("", "on", "on"); err != nil {
		return nil, err
	} else if ok {
		v, _, err := o.boolean("on", "on", true)
		if err != nil {
			return nil, err
		}
		patch["on"] = object{"on": v}
	}
	dim := sub(cur, "dimming")
	if !group && dim == nil && (f["dimming"] != nil || f["dimming_delta"] != nil) {
		return nil, badf("dimming: not supported by this light")
	}
	brightness, _ := number(dim, "brightness")
	minDim, _ := number(dim, "min_dim_level")
	if d, ok, err := f.obj("", "dimming", "brightness"); err != nil {
		return nil, err
	} else if ok {
		b, _, err := d.num("dimming", "brightness", 0, 100, true)
		if err != nil {
			return nil, err
		}
		// As on a bridge, 0 (or anything below it) is the lowest level, not off.
		brightness = max(b, minDim)
		patch["dimming"] = object{"brightness": brightness}
	}
	if d, ok, err := f.obj("", "dimming_delta", "action", "brightness_delta"); err != nil {
		return nil, err
	} else if ok {
		act, _, err := d.enum("dimming_delta", "action", true, deltaActions...)
		if err != nil {
			return nil, err
		}
		delta, _, err := d.num("dimming_delta", "brightness_delta", 0, 100, false)
		if err != nil {
			return nil, err
		}
		switch act {
		case "up":
			brightness = min(brightness+delta, 100)
		case "down":
			brightness = max(brightness-delta, minDim)
		}
		patch["dimming"] = object{"brightness": brightness}
	}
	ct := sub(cur, "color_temperature")
	schema := sub(ct, "mirek_schema")
	lo, hi := 153.0, 500.0
	if v, ok := number(schema, "mirek_minimum"); ok {
		lo = v
	}
	if v, ok := number(schema, "mirek_maximum"); ok {
		hi = v
	}
	if !group && ct == nil && (f["color_temperature"] != nil || f["color_temperature_delta"] != nil) {
		return nil, badf("color_temperature: not supported by this light")
	}
	if c, ok, err := f.obj("", "color_temperature", "mirek"); err != nil {
		return nil, err
	} else if ok {
		m, _, err := c.integer("color_temperature", "mirek", int64(lo), int64(hi), true)
		if err != nil {
			return nil, err
		}
		if !group {
			patch["color_temperature"] = object{"mirek": m, "mirek_valid": true}
		} else {
			patch["color_temperature"] = object{"mirek": m}
		}
	}
	if c, ok, err := f.obj("", "color_temperature_delta", "action", "mirek_delta"); err != nil {
		return nil, err
	} else if ok {
		act, _, err := c.enum("color_temperature_delta", "action", true, deltaActions...)
		if err != nil {
			return nil, err
		}
		delta, _, err := c.integer("color_temperature_delta", "mirek_delta", 0, 347, false)
		if err != nil {
			return nil, err
		}
		m, ok := number(ct, "mirek")
		if !ok {
			m = (lo + hi) / 2
		}
		switch act {
		case "up":
			m = min(m+float64(delta), hi)
		case "down":
			m = max(m-float64(delta), lo)
		}
		if !group {
			patch["color_temperature"] = object{"mirek": m, "mirek_valid": true}
		}
	}
	if !group && sub(cur, "color") == nil && f["color"] != nil {
		return nil, badf("color: not supported by this light")
	}
	if c, ok, err := f.obj("", "color", "xy"); err != nil {
		return nil, err
	} else if ok {
		xy, ok, err := c.obj("color", "xy", "x", "y")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, badf("color.xy: required")
		}
		x, _, err := xy.num("color.xy", "x", 0, 1, true)
		if err != nil {
			return nil, err
		}
		y, _, err := xy.num("color.xy", "y", 0, 1, true)
		if err != nil {
			return nil, err
		}
		patch["color"] = object{"xy": object{"x": x, "y": y}}
		if !group && ct != nil && f["color_temperature"] == nil {
			// A colour is not a colour temperature: the bridge invalidates it.
			patch["color_temperature"] = object{"mirek": nil, "mirek_valid": false}
		}
	}
	if d, ok, err := f.obj("", "dynamics", "duration", "speed"); err != nil {
		return nil, err
	} else if ok {
		if _, _, err := d.integer("dynamics", "duration", 0, 6000000, false); err != nil {
			return nil, err
		}
		if s, ok, err := d.num("dynamics", "speed", 0, 1, false); err != nil {
			return nil, err
		} else if ok && !group {
			patch["dynamics"] = object{"speed": s}
		}
	}
	if err := action(f, "alert", "breathe"); err != nil {
		return nil, err
	}
	if s, ok, err := f.obj("", "signaling", "signal", "duration", "color", "colors"); err != nil {
		return nil, err
	} else if ok {
		if _, _, err := s.enum("signaling", "signal", true, signalValues...); err != nil {
			return nil, err
		}
		if _, _, err := s.integer("signaling", "duration", 0, 65534000, false); err != nil {
			return nil, err
		}
	}
	return patch, nil
}
