package hue

import (
	"cmp"
	"slices"
)

// The overlap of a reconnect. A mirror opens the upstream's stream first
// and reads its resources second, so nothing falls between the two; but the
// events that arrive while the resources are read are on either side of
// the snapshot, and nothing in them says which (a bridge's event ids carry
// no position). Folding one the snapshot already includes would be a
// duplicate (a button press twice), or an older state over a newer one.
//
// absorbed decides by content: the events that arrived before the snapshot
// was complete are, in order, a run the snapshot includes followed by a run
// after it. It takes the longest prefix whose net effect on each field —
// the last value any event of the prefix gives it, and whether the
// resource exists — is what the snapshot shows: those events are in it.
// What follows is new. A change made and undone within the overlap (off,
// then on again, while the resources were read) is indistinguishable from
// one before the snapshot and is not replayed; the state is exact either way.

// absorbed returns how many leading events of overlap the snapshot
// includes.
func absorbed(overlap []Event, snap map[resource]object) int {
	for k := len(overlap); k > 0; k-- {
		if consistent(overlap[:k], snap) {
			return k
		}
	}
	return 0
}

// netEffect is what a run of events leaves of one resource.
type netEffect struct {
	exists, known bool           // known: an add or delete says whether it exists
	leaves        map[string]any // field path → last value
}

func consistent(evs []Event, snap map[resource]object) bool {
	net := map[resource]*netEffect{}
	for _, ev := range evs {
		for _, raw := range ev.Data {
			o, ok := mirrorable(raw)
			if !ok {
				continue
			}
			r := resource{str(o, "type"), str(o, "id")}
			n := net[r]
			if n == nil {
				n = &netEffect{leaves: map[string]any{}}
				net[r] = n
			}
			switch ev.Type {
			case "add":
				n.exists, n.known = true, true
				clear(n.leaves)
			case "delete":
				n.exists, n.known = false, true
				clear(n.leaves)
				continue
			case "update":
			default:
				continue
			}
			leaves(n.leaves, "", o)
		}
	}
	for r, n := range net {
		s := snap[r]
		if n.known && n.exists != (s != nil) {
			return false
		}
		if s == nil {
			continue // an update of what the snapshot lacks folds to nothing either way
		}
		have := map[string]any{}
		leaves(have, "", s)
		for path, v := range n.leaves {
			sv, ok := have[path]
			if !ok || !jsonEqual(v, sv) {
				return false
			}
		}
	}
	return true
}

// leaves writes the leaves of o into dst by path ("dimming.brightness"),
// leaving out the identifying fields every item carries. A list is one leaf.
func leaves(dst map[string]any, prefix string, o object) {
	for k, v := range o {
		if prefix == "" && (k == "id" || k == "type") {
			continue
		}
		path := prefix + k
		if so, ok := v.(object); ok && len(so) > 0 {
			leaves(dst, path+"\x00", so)
			continue
		}
		dst[path] = v
	}
}

// sortedResources returns the keys of m in a stable order.
func sortedResources[V any](m map[resource]V) []resource {
	out := make([]resource, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b resource) int {
		return cmp.Or(cmp.Compare(a.rtype, b.rtype), cmp.Compare(a.id, b.id))
	})
	return out
}
