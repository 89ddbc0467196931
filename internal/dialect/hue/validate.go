package hue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// A validator checks a PUT body against the writable fields of one
// resource type and returns the patch to merge into the stored resource
// (fields in their stored shape). Fields that only trigger an action
// (alert, identify, signaling, transition times) are checked but not kept.
type validator func(cur object, f fields) (object, error)

// validators are the types that accept PUT; others answer 405.
var validators = map[string]validator{
	"light":           validateLight,
	"grouped_light":   validateGroupedLight,
	"button":          validateButton,
	"device":          validateDevice,
	"room":            validateGroup("room"),
	"zone":            validateGroup("zone"),
	"motion":          validateSensor(true),
	"temperature":     validateSensor(false),
	"light_level":     validateSensor(false),
	"contact":         validateSensor(false),
	"tamper":          validateSensor(false),
	"relative_rotary": validateTypeOnly,
	"device_power":    validateTypeOnly,
	"bridge":          validateTypeOnly,
	"geofence_client": validateGeofence,
}

// validatePut parses body and validates it for a resource of type rtype
// whose current state is cur.
func validatePut(rtype string, cur object, body []byte) (object, error) {
	v, ok := validators[rtype]
	if !ok {
		return nil, fmt.Errorf("%w: %s resources cannot be changed", errNotAllowed, rtype)
	}
	f, err := parseFields(body, "")
	if err != nil {
		return nil, err
	}
	if raw, ok := f["type"]; ok {
		var t string
		if json.Unmarshal(raw, &t) != nil || t != rtype {
			return nil, badf("type: must be %q", rtype)
		}
		delete(f, "type")
	}
	patch, err := v(cur, f)
	if err != nil {
		return nil, err
	}
	return normalize(patch).(object), nil
}

// fields is a JSON object whose values are not decoded yet.
type fields map[string]json.RawMessage

// path names where in the body a field is, for error messages.
func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadRequest}, args...)...)
}

// parseFields decodes a JSON object, rejecting anything else and
// duplicate keys (which JSON decoders resolve differently).
func parseFields(raw []byte, path string) (fields, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, badf("%s: body contains invalid json: expected an object", orBody(path))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, badf("%s: body contains invalid json", orBody(path))
	}
	f := fields{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badf("%s: body contains invalid json", orBody(path))
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, badf("%s: body contains invalid json", orBody(path))
		}
		if _, dup := f[k]; dup {
			return nil, badf("%s: duplicate key", join(path, k))
		}
		f[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, badf("%s: body contains invalid json", orBody(path))
	}
	if _, err := dec.Token(); err == nil {
		return nil, badf("%s: body contains invalid json: trailing data", orBody(path))
	}
	return f, nil
}

func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// only rejects keys other than allowed.
func (f fields) only(path string, allowed ...string) error {
	for k := range f {
		if !slices.Contains(allowed, k) {
			return badf("%s: unknown or read-only attribute", join(path, k))
		}
	}
	return nil
}

// obj decodes the object field name, if present.
func (f fields) obj(path, name string, allowed ...string) (fields, bool, error) {
	raw, ok := f[name]
	if !ok {
		return nil, false, nil
	}
	o, err := parseFields(raw, join(path, name))
	if err != nil {
		return nil, false, err
	}
	return o, true, o.only(join(path, name), allowed...)
}

// num decodes a finite number within [lo, hi].
func (f fields) num(path, name string, lo, hi float64, required bool) (float64, bool, error) {
	raw, ok := f[name]
	if !ok {
		if required {
			return 0, false, badf("%s: required", join(path, name))
		}
		return 0, false, nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, badf("%s: must be a number", join(path, name))
	}
	if v < lo || v > hi {
		return 0, false, badf("%s: must be between %v and %v", join(path, name), lo, hi)
	}
	return v, true, nil
}

// integer decodes an integer within [lo, hi].
func (f fields) integer(path, name string, lo, hi int64, required bool) (int64, bool, error) {
	v, ok, err := f.num(path, name, float64(lo), float64(hi), required)
	if err != nil || !ok {
		return 0, ok, err
	}
	if v != math.Trunc(v) {
		return 0, false, badf("%s: must be an integer", join(path, name))
	}
	return int64(v), true, nil
}

func (f fields) boolean(path, name string, required bool) (bool, bool, error) {
	raw, ok := f[name]
	if !ok {
		if required {
			return false, false, badf("%s: required", join(path, name))
		}
		return false, false, nil
	}
	var v bool
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, false, badf("%s: must be true or false", join(path, name))
	}
	return v, true, nil
}

// enum decodes a string that must be one of values (any string if none).
func (f fields) enum(path, name string, required bool, values ...string) (string, bool, error) {
	raw, ok := f[name]
	if !ok {
		if required {
			return "", false, badf("%s: required", join(path, name))
		}
		return "", false, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, badf("%s: must be a string", join(path, name))
	}
	if len(values) > 0 && !slices.Contains(values, v) {
		return "", false, badf("%s: must be one of %s", join(path, name), strings.Join(values, ", "))
	}
	return v, true, nil
}

var archetypeRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// name decodes a resource name: 1 to 32 characters, no control characters.
func (f fields) name(path, key string, required bool) (string, bool, error) {
	v, ok, err := f.enum(path, key, required)
	if err != nil || !ok {
		return v, ok, err
	}
	if n := utf8.RuneCountInString(v); n < 1 || n > 32 || !utf8.ValidString(v) ||
		strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", false, badf("%s: must be 1 to 32 characters", join(path, key))
	}
	return v, true, nil
}

// metadata validates {name, archetype[, function]}.
func metadata(f fields, withFunction bool) (object, error) {
	allowed := []string{"name", "archetype"}
	if withFunction {
		allowed = append(allowed, "function")
	}
	m, ok, err := f.obj("", "metadata", allowed...)
	if err != nil || !ok {
		return nil, err
	}
	out := object{}
	if n, ok, err := m.name("metadata", "name", false); err != nil {
		return nil, err
	} else if ok {
		out["name"] = n
	}
	if a, ok, err := m.enum("metadata", "archetype", false); err != nil {
		return nil, err
	} else if ok {
		if !archetypeRE.MatchString(a) {
			return nil, badf("metadata.archetype: not a valid archetype")
		}
		out["archetype"] = a
	}
	if fn, ok, err := m.enum("metadata", "function", false, "functional", "decorative", "mixed", "unknown"); err != nil {
		return nil, err
	} else if ok {
		out["function"] = fn
	}
	return out, nil
}

// action validates a transient {"action": one of values} field.
func action(f fields, name string, values ...string) error {
	a, ok, err := f.obj("", name, "action")
	if err != nil || !ok {
		return err
	}
	_, _, err = a.enum(name, "action", true, values...)
	return err
}

func validateTypeOnly(_ object, f fields) (object, error) {
	return object{}, f.only("")
}

func validateButton(_ object, f fields) (object, error) {
	if err := f.only("", "metadata", "button"); err != nil {
		return nil, err
	}
	patch := object{}
	if m, ok, err := f.obj("", "metadata", "control_id"); err != nil {
		return nil, err
	} else if ok {
		id, ok, err := m.integer("metadata", "control_id", 0, 8, false)
		if err != nil {
			return nil, err
		}
		if ok {
			patch["metadata"] = object{"control_id": id}
		}
	}
	if b, ok, err := f.obj("", "button", "repeat_interval"); err != nil {
		return nil, err
	} else if ok {
		ri, ok, err := b.integer("button", "repeat_interval", 0, 65535, false)
		if err != nil {
			return nil, err
		}
		if ok {
			patch["button"] = object{"repeat_interval": ri}
		}
	}
	return patch, nil
}

func validateDevice(_ object, f fields) (object, error) {
	if err := f.only("", "metadata", "identify", "usertest", "device_mode"); err != nil {
		return nil, err
	}
	patch := object{}
	m, err := metadata(f, false)
	if err != nil {
		return nil, err
	}
	if len(m) > 0 {
		patch["metadata"] = m
	}
	if err := action(f, "identify", "identify"); err != nil {
		return nil, err
	}
	if u, ok, err := f.obj("", "usertest", "usertest"); err != nil {
		return nil, err
	} else if ok {
		v, _, err := u.boolean("usertest", "usertest", true)
		if err != nil {
			return nil, err
		}
		patch["usertest"] = object{"status": "set", "usertest": v}
	}
	if _, ok := f["device_mode"]; ok {
		return nil, badf("device_mode: not supported by this device")
	}
	return patch, nil
}

// validateGroup checks a room's or zone's body. A room groups devices, a
// zone services (lights); whether they exist is checked against the state
// (checkChildren).
func validateGroup(kind string) validator {
	return func(_ object, f fields) (object, error) {
		if err := f.only("", "metadata", "children"); err != nil {
			return nil, err
		}
		patch := object{}
		m, err := metadata(f, false)
		if err != nil {
			return nil, err
		}
		if len(m) > 0 {
			patch["metadata"] = m
		}
		if raw, ok := f["children"]; ok {
			var children []ref
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&children); err != nil || children == nil {
				return nil, badf("children: must be a list of {rid, rtype}")
			}
			for _, c := range children {
				if !uuidRE.MatchString(c.RID) {
					return nil, badf("children: %q is not a resource id", c.RID)
				}
				if kind == "room" && c.RType != "device" {
					return nil, badf("children: a room groups devices, not %q", c.RType)
				}
				if kind == "zone" && (!knownType(c.RType) || groupTypes[c.RType]) {
					return nil, badf("children: a zone groups services such as lights, not %q", c.RType)
				}
			}
			patch["children"] = children
		}
		return patch, nil
	}
}

// groupTypes are the types that group others rather than serve a device.
var groupTypes = map[string]bool{
	"device": true, "bridge_home": true, "room": true, "zone": true, "grouped_light": true,
	"grouped_motion": true, "grouped_light_level": true, "service_group": true,
}

func validateSensor(sensitivity bool) validator {
	return func(_ object, f fields) (object, error) {
		allowed := []string{"enabled"}
		if sensitivity {
			allowed = append(allowed, "sensitivity")
		}
		if err := f.only("", allowed...); err != nil {
			return nil, err
		}
		patch := object{}
		if v, ok, err := f.boolean("", "enabled", false); err != nil {
			return nil, err
		} else if ok {
			patch["enabled"] = v
		}
		if s, ok, err := f.obj("", "sensitivity", "sensitivity"); err != nil {
			return nil, err
		} else if ok {
			v, _, err := s.integer("sensitivity", "sensitivity", 0, 4, true)
			if err != nil {
				return nil, err
			}
			patch["sensitivity"] = object{"sensitivity": v, "status": "set"}
		}
		return patch, nil
	}
}

func validateGeofence(_ object, f fields) (object, error) {
	if err := f.only("", "name", "is_at_home"); err != nil {
		return nil, err
	}
	patch := object{}
	if n, ok, err := f.name("", "name", false); err != nil {
		return nil, err
	} else if ok {
		patch["name"] = n
	}
	if v, ok, err := f.boolean("", "is_at_home", false); err != nil {
		return nil, err
	} else if ok {
		patch["is_at_home"] = v
	}
	return patch, nil
}
