package hue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/herald-io/herald/internal/eventlog"
)

// resPrefix holds the resources in the bucket: "res.<rtype>.<id>".
const resPrefix = "res."

// maxCASRetries bounds compare-and-set retries when nodes race on one key.
const maxCASRetries = 16

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$`)

// store keeps the projection of the log's Hue events in the engine's KV,
// one entry per resource (see tx.go for the write order).
type store struct {
	kv eventlog.KV
}

func resKey(rtype, id string) string { return resPrefix + rtype + "." + id }

// resTopic is the log topic of a resource's events.
func resTopic(rtype, id string) string { return "hue." + rtype + "." + id }

// parseResTopic returns the resource a log topic names, if it names one.
func parseResTopic(t string) (rtype, id string, ok bool) {
	rest, ok := strings.CutPrefix(t, "hue.")
	if !ok {
		return "", "", false
	}
	rtype, id, ok = strings.Cut(rest, ".")
	if !ok || !knownType(rtype) || !uuidRE.MatchString(id) {
		return "", "", false
	}
	return rtype, id, true
}

// entry is what the bucket holds for a resource: its state as of log
// sequence Seq — every event on the resource's topic up to Seq is folded
// in, none after — or, once a delete is folded, a tombstone that keeps Seq
// so a late projector cannot bring the resource back.
type entry struct {
	Seq     uint64 `json:"seq"`
	Res     object `json:"res,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
}

// decodeEntry reads an entry; a bare resource (as stored before entries
// had a sequence) is a resource at sequence 0.
func decodeEntry(b []byte) (entry, error) {
	var e entry
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("hue: stored resource: %w", err)
	}
	if e.Res == nil && !e.Deleted {
		o, err := decodeObject(b)
		if err != nil {
			return e, err
		}
		return entry{Res: o}, nil
	}
	return e, nil
}

// entry returns a resource's entry and its revision; revision 0 and a zero
// entry when there is none.
func (s *store) entry(ctx context.Context, rtype, id string) (entry, uint64, error) {
	e, err := s.kv.Get(ctx, resKey(rtype, id))
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return entry{}, 0, nil
	}
	if err != nil {
		return entry{}, 0, fmt.Errorf("hue: get %s %s: %w", rtype, id, err)
	}
	ent, err := decodeEntry(e.Value)
	return ent, e.Revision, err
}

// get returns a resource, or errNotFound.
func (s *store) get(ctx context.Context, rtype, id string) (object, error) {
	if !knownType(rtype) || !uuidRE.MatchString(id) {
		return nil, errNotFound
	}
	e, _, err := s.entry(ctx, rtype, id)
	if err != nil {
		return nil, err
	}
	if e.Res == nil {
		return nil, errNotFound
	}
	return e.Res, nil
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
		ent, err := decodeEntry(e.Value)
		if err != nil {
			return nil, err
		}
		if ent.Res != nil {
			out = append(out, ent.Res)
		}
	}
	return out, nil
}

// seed stores a resource the bridge has out of the box, at sequence 0: it
// is the base its events fold onto. ErrConflict if it exists.
func (s *store) seed(ctx context.Context, o object) error {
	b, err := json.Marshal(entry{Res: normalize(o).(object)})
	if err != nil {
		return fmt.Errorf("hue: encode resource: %w", err)
	}
	if _, err := s.kv.Create(ctx, resKey(str(o, "type"), str(o, "id")), b); err != nil {
		return fmt.Errorf("hue: seed %s: %w", str(o, "type"), err)
	}
	return nil
}

// put stores e with compare-and-set on rev (0: the key must not exist).
func (s *store) put(ctx context.Context, rtype, id string, e entry, rev uint64) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("hue: encode resource: %w", err)
	}
	if rev == 0 {
		_, err = s.kv.Create(ctx, resKey(rtype, id), b)
	} else {
		_, err = s.kv.Update(ctx, resKey(rtype, id), b, rev)
	}
	if err != nil {
		return fmt.Errorf("hue: store %s %s: %w", rtype, id, err)
	}
	return nil
}
