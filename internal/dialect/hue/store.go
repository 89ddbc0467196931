package hue

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/herald-io/herald/internal/eventlog"
)

// object is a resource (or part of one) as JSON decodes it. Resources are
// kept generic because the bridge's model is wide and mostly opaque to
// herald: only the writable fields are typed, in validate.go.
type object = map[string]any

// resPrefix holds the resources in the bucket: "res.<rtype>.<id>".
const resPrefix = "res."

// maxCASRetries bounds compare-and-set retries when nodes race on one resource.
const maxCASRetries = 8

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$`)

// store keeps resources in the engine's KV, one entry per resource.
type store struct {
	kv eventlog.KV
}

func resKey(rtype, id string) string { return resPrefix + rtype + "." + id }

func decodeObject(b []byte) (object, error) {
	var o object
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("hue: stored resource: %w", err)
	}
	return o, nil
}

// get returns a resource and its revision, or errNotFound.
func (s *store) get(ctx context.Context, rtype, id string) (object, uint64, error) {
	if !knownType(rtype) || !uuidRE.MatchString(id) {
		return nil, 0, errNotFound
	}
	e, err := s.kv.Get(ctx, resKey(rtype, id))
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return nil, 0, errNotFound
	}
	if err != nil {
		return nil, 0, fmt.Errorf("hue: get %s %s: %w", rtype, id, err)
	}
	o, err := decodeObject(e.Value)
	return o, e.Revision, err
}

// list returns the resources of one type, or all ("") ordered by type
// then id, so answers are stable.
func (s *store) list(ctx context.Context, rtype string) ([]object, error) {
	prefix := resPrefix
	if rtype != "" {
		prefix += rtype + "."
	}
	entries, err := s.kv.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("hue: list %q: %w", rtype, err)
	}
	slices.SortFunc(entries, func(a, b eventlog.Entry) int { return cmp.Compare(a.Key, b.Key) })
	out := make([]object, 0, len(entries))
	for _, e := range entries {
		o, err := decodeObject(e.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// create stores a new resource; ErrConflict if its id exists.
func (s *store) create(ctx context.Context, o object) error {
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("hue: encode resource: %w", err)
	}
	if _, err := s.kv.Create(ctx, resKey(str(o, "type"), str(o, "id")), b); err != nil {
		return fmt.Errorf("hue: create %s: %w", str(o, "type"), err)
	}
	return nil
}

// update applies fn to a copy of the resource and stores the result with
// compare-and-set, retrying if another request or node changed it in
// between. It returns the resource before and after.
func (s *store) update(ctx context.Context, rtype, id string, fn func(o object) error) (before, after object, err error) {
	for range maxCASRetries {
		o, rev, err := s.get(ctx, rtype, id)
		if err != nil {
			return nil, nil, err
		}
		before = clone(o)
		if err := fn(o); err != nil {
			return nil, nil, err
		}
		b, err := json.Marshal(o)
		if err != nil {
			return nil, nil, fmt.Errorf("hue: encode resource: %w", err)
		}
		_, err = s.kv.Update(ctx, resKey(rtype, id), b, rev)
		if errors.Is(err, eventlog.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("hue: update %s %s: %w", rtype, id, err)
		}
		// Normalise through JSON so before and after compare alike.
		after, err = decodeObject(b)
		return before, after, err
	}
	return nil, nil, fmt.Errorf("hue: update %s %s: %w", rtype, id, eventlog.ErrConflict)
}

// remove deletes a resource and returns what it was.
func (s *store) remove(ctx context.Context, rtype, id string) (object, error) {
	o, rev, err := s.get(ctx, rtype, id)
	if err != nil {
		return nil, err
	}
	if err := s.kv.Delete(ctx, resKey(rtype, id), rev); err != nil {
		return nil, fmt.Errorf("hue: delete %s %s: %w", rtype, id, err)
	}
	return o, nil
}

// clone deep-copies a JSON value.
func clone(o object) object {
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
