package hue

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// object is a resource (or part of one) as JSON decodes it. Resources are
// kept generic because the bridge's model is wide and mostly opaque to
// herald: only the writable fields are typed, in validate.go.
type object = map[string]any

func decodeObject(b []byte) (object, error) {
	var o object
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("hue: stored resource: %w", err)
	}
	return o, nil
}

// clone deep-copies a JSON value.
func clone(o object) object {
	if o == nil {
		return nil
	}
	b, _ := json.Marshal(o)
	var c object
	_ = json.Unmarshal(b, &c)
	return c
}

// normalize turns any JSON-encodable value into what json.Unmarshal makes
// of it (float64 numbers, map[string]any objects), so values compare with
// those read from the store.
func normalize(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// merge writes patch into dst, recursing into objects.
func merge(dst, patch object) {
	for k, v := range patch {
		if pv, ok := v.(object); ok {
			if dv, ok := dst[k].(object); ok {
				merge(dv, pv)
				continue
			}
		}
		dst[k] = normalize(v)
	}
}

// diff returns the fields of after that differ from before (recursing into
// objects, so only changed leaves are carried): the data of an update event.
// Fields are never removed from a resource, so merging the diff into before
// gives after.
func diff(before, after object) object {
	out := object{}
	for k, av := range after {
		bv, had := before[k]
		if ao, ok := av.(object); ok {
			if bo, ok := bv.(object); ok {
				if d := diff(bo, ao); len(d) > 0 {
					out[k] = d
				}
				continue
			}
		}
		if !had || !jsonEqual(av, bv) {
			out[k] = av
		}
	}
	return out
}

func jsonEqual(a, b any) bool {
	ab, err1 := json.Marshal(a)
	bb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ab, bb)
}

// str returns o[k] if it is a string.
func str(o object, k string) string {
	s, _ := o[k].(string)
	return s
}

// sub returns o[k] if it is an object.
func sub(o object, k string) object {
	s, _ := o[k].(object)
	return s
}

// ref is a ResourceIdentifier {"rid","rtype"}.
type ref struct {
	RID   string `json:"rid"`
	RType string `json:"rtype"`
}

// refs reads a list of ResourceIdentifiers (services, children).
func refs(o object, k string) []ref {
	list, _ := o[k].([]any)
	out := make([]ref, 0, len(list))
	for _, v := range list {
		if m, ok := v.(object); ok {
			out = append(out, ref{RID: str(m, "rid"), RType: str(m, "rtype")})
		}
	}
	return out
}

// ident returns the fields every event item carries: id, id_v1, type,
// owner and service_id, as a bridge sends them.
func ident(o object) object {
	out := object{"id": o["id"], "type": o["type"]}
	for _, k := range []string{"id_v1", "owner", "service_id"} {
		if v, ok := o[k]; ok {
			out[k] = v
		}
	}
	return out
}
