package hue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/eventlog"
)

// change is one Hue event item about to be appended: kind is add, update
// or delete; data is the item as it appears in the event's "data" array.
type change struct {
	kind, rtype, rid string
	data             json.RawMessage
}

func newChange(kind string, item object) change {
	b, _ := json.Marshal(item)
	return change{kind: kind, rtype: str(item, "type"), rid: str(item, "id"), data: b}
}

// updated is the update event of a resource: only the changed fields, plus
// the identifying ones, as a bridge sends it.
func updated(after, changed object) change {
	item := ident(after)
	for k, v := range changed {
		item[k] = v
	}
	return newChange("update", item)
}

// deleted is the delete event of a resource: its identifier only.
func deleted(o object) change {
	item := object{"id": o["id"], "type": o["type"]}
	if v, ok := o["id_v1"]; ok {
		item["id_v1"] = v
	}
	return newChange("delete", item)
}

// listAll handles GET /clip/v2/resource: every resource, which is how
// aiohue loads a bridge.
func (a *API) listAll(w http.ResponseWriter, r *http.Request) {
	list, err := a.store.list(r.Context(), "")
	if err != nil {
		writeErr(w, err)
		return
	}
	writeData(w, list)
}

// listType handles GET /clip/v2/resource/{type}.
func (a *API) listType(w http.ResponseWriter, r *http.Request) {
	rtype := r.PathValue("type")
	if !knownType(rtype) {
		writeErr(w, errNotFound)
		return
	}
	list, err := a.store.list(r.Context(), rtype)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeData(w, list)
}

// get handles GET /clip/v2/resource/{type}/{id}.
func (a *API) get(w http.ResponseWriter, r *http.Request) {
	o, _, err := a.store.get(r.Context(), r.PathValue("type"), r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeData(w, []object{o})
}

// put handles PUT /clip/v2/resource/{type}/{id}: validate, apply, answer
// the identifier, and emit the update events (clients such as aiohue
// change their state only from the event stream).
func (a *API) put(w http.ResponseWriter, r *http.Request) {
	rtype, id := r.PathValue("type"), r.PathValue("id")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, err)
		return
	}
	changes, err := a.apply(r.Context(), rtype, id, body)
	if err == nil {
		err = a.publish(r.Context(), changes)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeData(w, []ref{{RID: id, RType: rtype}})
}

// apply validates and stores a PUT body and returns the events it causes.
func (a *API) apply(ctx context.Context, rtype, id string, body []byte) ([]change, error) {
	var patch object
	before, after, err := a.store.update(ctx, rtype, id, func(o object) error {
		p, err := validatePut(rtype, o, body)
		if err != nil {
			return err
		}
		patch = p
		if rtype == "grouped_light" {
			// A group holds only on and dimming; the rest goes to its lights.
			p = object{"on": p["on"], "dimming": p["dimming"]}
			for k, v := range p {
				if v == nil {
					delete(p, k)
				}
			}
		}
		merge(o, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var changes []change
	if d := diff(before, after); len(d) > 0 {
		changes = append(changes, updated(after, d))
	}
	switch rtype {
	case "light":
		if len(changes) > 0 {
			more, err := a.recomputeGroups(ctx)
			if err != nil {
				return changes, err
			}
			changes = append(changes, more...)
		}
	case "grouped_light":
		more, err := a.applyToGroup(ctx, after, patch)
		if err != nil {
			return changes, err
		}
		changes = append(changes, more...)
	}
	return changes, nil
}

// create handles POST /clip/v2/resource/{type} for the types clients
// make: geofence_client (aiohue's keep-alive), room and zone.
func (a *API) create(w http.ResponseWriter, r *http.Request) {
	rtype := r.PathValue("type")
	if !knownType(rtype) {
		writeErr(w, errNotFound)
		return
	}
	if !creatable[rtype] {
		writeErr(w, fmt.Errorf("%w: %s resources cannot be created", errNotAllowed, rtype))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeErr(w, err)
		return
	}
	ctx := r.Context()
	created, err := a.newResources(ctx, rtype, body)
	if err != nil {
		writeErr(w, err)
		return
	}
	var changes []change
	for _, o := range created {
		if err := a.store.create(ctx, o); err != nil {
			writeErr(w, err)
			return
		}
		changes = append(changes, newChange("add", o))
	}
	if rtype != "geofence_client" {
		more, err := a.recomputeGroups(ctx)
		if err != nil {
			writeErr(w, err)
			return
		}
		changes = append(changes, more...)
	}
	if err := a.publish(ctx, changes); err != nil {
		writeErr(w, err)
		return
	}
	writeData(w, []ref{{RID: str(created[0], "id"), RType: rtype}})
}

// newResources validates a POST body and builds the resources it creates,
// the requested one first.
func (a *API) newResources(ctx context.Context, rtype string, body []byte) ([]object, error) {
	patch, err := validatePost(rtype, body)
	if err != nil {
		return nil, err
	}
	o := object{"id": uuid.NewString(), "type": rtype}
	merge(o, patch)
	if rtype == "geofence_client" {
		return []object{o}, nil
	}
	// Rooms and zones come with their grouped_light, as on a bridge.
	n, err := a.nextV1(ctx, "groups")
	if err != nil {
		return nil, err
	}
	idv1 := "/groups/" + strconv.FormatUint(n, 10)
	gl := object{
		"id": uuid.NewString(), "id_v1": idv1, "type": "grouped_light",
		"owner": object{"rid": o["id"], "rtype": rtype},
		"on":    object{"on": false}, "dimming": object{"brightness": 0.0},
		"alert":     object{"action_values": []any{"breathe"}},
		"signaling": object{"signal_values": []any{"no_signal", "on_off"}},
	}
	o["id_v1"] = idv1
	o["services"] = []any{object{"rid": gl["id"], "rtype": "grouped_light"}}
	if _, ok := o["children"]; !ok {
		o["children"] = []any{}
	}
	return []object{normalize(o).(object), normalize(gl).(object)}, nil
}

// validatePost checks the body of a POST: the PUT fields, with the ones a
// new resource needs required.
func validatePost(rtype string, body []byte) (object, error) {
	patch, err := validatePut(rtype, nil, body)
	if err != nil {
		return nil, err
	}
	switch rtype {
	case "geofence_client":
		if _, ok := patch["name"]; !ok {
			return nil, badf("name: required")
		}
	case "room", "zone":
		m := sub(patch, "metadata")
		if str(m, "name") == "" || str(m, "archetype") == "" {
			return nil, badf("metadata.name and metadata.archetype: required")
		}
	}
	return patch, nil
}

// remove handles DELETE /clip/v2/resource/{type}/{id}.
func (a *API) remove(w http.ResponseWriter, r *http.Request) {
	rtype, id := r.PathValue("type"), r.PathValue("id")
	ctx := r.Context()
	o, _, err := a.store.get(ctx, rtype, id)
	if err != nil {
		writeErr(w, err)
		return
	}
	if !deletable[rtype] || id == a.bridge.Device {
		writeErr(w, fmt.Errorf("%w: this %s cannot be deleted", errNotAllowed, rtype))
		return
	}
	changes, err := a.deleteTree(ctx, o)
	if err == nil {
		var more []change
		more, err = a.recomputeGroups(ctx)
		changes = append(changes, more...)
	}
	if err == nil {
		err = a.publish(ctx, changes)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeData(w, []ref{{RID: id, RType: rtype}})
}

// deleteTree removes a resource, the services it owns (a device's lights
// and buttons, a room's grouped_light) and references to it in groups.
func (a *API) deleteTree(ctx context.Context, o object) ([]change, error) {
	var changes []change
	for _, s := range refs(o, "services") {
		gone, err := a.store.remove(ctx, s.RType, s.RID)
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return changes, err
		}
		changes = append(changes, deleted(gone))
	}
	gone, err := a.store.remove(ctx, str(o, "type"), str(o, "id"))
	if err != nil {
		return changes, err
	}
	changes = append(changes, deleted(gone))
	if str(o, "type") != "device" {
		return changes, nil
	}
	// Drop the device from the home, rooms and zones that list it.
	for _, gt := range []string{"bridge_home", "room", "zone"} {
		groups, err := a.store.list(ctx, gt)
		if err != nil {
			return changes, err
		}
		for _, g := range groups {
			if !hasChild(g, str(o, "id")) {
				continue
			}
			before, after, err := a.store.update(ctx, gt, str(g, "id"), func(g object) error {
				g["children"] = withoutChild(g, str(o, "id"))
				return nil
			})
			if err != nil {
				return changes, err
			}
			if d := diff(before, after); len(d) > 0 {
				changes = append(changes, updated(after, d))
			}
		}
	}
	return changes, nil
}

func hasChild(g object, rid string) bool {
	for _, c := range refs(g, "children") {
		if c.RID == rid {
			return true
		}
	}
	return false
}

func withoutChild(g object, rid string) []any {
	out := []any{}
	for _, c := range refs(g, "children") {
		if c.RID != rid {
			out = append(out, object{"rid": c.RID, "rtype": c.RType})
		}
	}
	return out
}

// nextV1 allocates the next CLIP v1 number of a kind (lights, sensors,
// groups) with compare-and-set, so nodes never hand out the same one.
func (a *API) nextV1(ctx context.Context, kind string) (uint64, error) {
	key := "v1." + kind
	for range maxCASRetries {
		e, err := a.store.kv.Get(ctx, key)
		var n uint64
		switch {
		case errors.Is(err, eventlog.ErrKeyNotFound):
			n = 1
			_, err = a.store.kv.Create(ctx, key, []byte("1"))
		case err == nil:
			n, err = strconv.ParseUint(string(e.Value), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("hue: counter %s: %w", kind, err)
			}
			n++
			_, err = a.store.kv.Update(ctx, key, []byte(strconv.FormatUint(n, 10)), e.Revision)
		}
		if errors.Is(err, eventlog.ErrConflict) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("hue: counter %s: %w", kind, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("hue: counter %s: %w", kind, eventlog.ErrConflict)
}
