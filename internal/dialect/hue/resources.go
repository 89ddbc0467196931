package hue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/eventlog"
)

// listAll handles GET /clip/v2/resource: every resource, which is how
// aiohue loads a bridge.
func (a *API) listAll(w http.ResponseWriter, r *http.Request) error {
	list, err := a.store.list(r.Context(), "")
	if err != nil {
		return err
	}
	writeData(w, list)
	return nil
}

// listType handles GET /clip/v2/resource/{type}.
func (a *API) listType(w http.ResponseWriter, r *http.Request) error {
	rtype := r.PathValue("type")
	if !knownType(rtype) {
		return errNotFound
	}
	list, err := a.store.list(r.Context(), rtype)
	if err != nil {
		return err
	}
	writeData(w, list)
	return nil
}

// get handles GET /clip/v2/resource/{type}/{id}.
func (a *API) get(w http.ResponseWriter, r *http.Request) error {
	o, err := a.store.get(r.Context(), r.PathValue("type"), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, []object{o})
	return nil
}

// put handles PUT /clip/v2/resource/{type}/{id}: validate, apply, answer
// the identifier, and emit the update events (clients such as aiohue
// change their state only from the event stream).
func (a *API) put(w http.ResponseWriter, r *http.Request) error {
	rtype, id := r.PathValue("type"), r.PathValue("id")
	if !knownType(rtype) {
		return errNotFound
	}
	if !writable(rtype) {
		return notAllowed(itemMethods(rtype), fmt.Errorf("%w: %s resources cannot be changed", errNotAllowed, rtype))
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	defer a.lock(rtype, id)()
	t := a.begin()
	err = a.apply(r.Context(), t, rtype, id, body)
	if err == nil {
		err = a.commit(r.Context(), t)
	}
	if err != nil {
		return err
	}
	writeData(w, []ref{{RID: id, RType: rtype}})
	return nil
}

// apply validates a PUT body and stages the change and the events it
// causes: a light's groups follow it, a group's lights follow the group.
func (a *API) apply(ctx context.Context, t *tx, rtype, id string, body []byte) error {
	var patch object
	after, err := t.update(ctx, rtype, id, func(o object) error {
		p, err := validatePut(rtype, o, body)
		if err != nil {
			return err
		}
		if err := checkChildren(ctx, t, rtype, p); err != nil {
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
		return err
	}
	switch rtype {
	case "light", "room", "zone":
		// A light's state, or who is in a group, decides the groups' state.
		if len(t.changes) > 0 {
			return a.recomputeGroups(ctx, t)
		}
	case "grouped_light":
		return a.applyToGroup(ctx, t, after, patch)
	}
	return nil
}

// create handles POST /clip/v2/resource/{type} for the types clients
// make: geofence_client (aiohue's keep-alive), room and zone.
func (a *API) create(w http.ResponseWriter, r *http.Request) error {
	rtype := r.PathValue("type")
	if !knownType(rtype) {
		return errNotFound
	}
	if !creatable[rtype] {
		return notAllowed(listMethods(rtype), fmt.Errorf("%w: %s resources cannot be created", errNotAllowed, rtype))
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	t := a.begin()
	created, err := a.newResources(ctx, t, rtype, body)
	if err != nil {
		return err
	}
	for _, o := range created {
		t.create(o)
	}
	if rtype != "geofence_client" {
		err = a.recomputeGroups(ctx, t)
	}
	if err == nil {
		err = a.commit(ctx, t)
	}
	if err != nil {
		return err
	}
	writeData(w, []ref{{RID: str(created[0], "id"), RType: rtype}})
	return nil
}

// newResources validates a POST body and builds the resources it creates,
// the requested one first.
func (a *API) newResources(ctx context.Context, t *tx, rtype string, body []byte) ([]object, error) {
	patch, err := validatePost(rtype, body)
	if err != nil {
		return nil, err
	}
	if err := checkChildren(ctx, t, rtype, patch); err != nil {
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

// checkChildren makes sure the children a room or zone is given exist and
// fit: a room groups devices, a zone services of devices (its lights),
// each listed once.
func checkChildren(ctx context.Context, t *tx, rtype string, patch object) error {
	if rtype != "room" && rtype != "zone" {
		return nil
	}
	seen := map[string]bool{}
	for _, c := range refs(patch, "children") {
		if seen[c.RID] {
			return badf("children: %s %s listed twice", c.RType, c.RID)
		}
		seen[c.RID] = true
		o, err := t.get(ctx, c.RType, c.RID)
		if errors.Is(err, errNotFound) {
			return badf("children: %s %s does not exist", c.RType, c.RID)
		}
		if err != nil {
			return err
		}
		if rtype == "zone" && str(sub(o, "owner"), "rtype") != "device" {
			return badf("children: %s %s is not a service of a device", c.RType, c.RID)
		}
	}
	return nil
}

// remove handles DELETE /clip/v2/resource/{type}/{id}.
func (a *API) remove(w http.ResponseWriter, r *http.Request) error {
	rtype, id := r.PathValue("type"), r.PathValue("id")
	if !knownType(rtype) {
		return errNotFound
	}
	if !deletable[rtype] {
		return notAllowed(itemMethods(rtype), fmt.Errorf("%w: %s resources cannot be deleted", errNotAllowed, rtype))
	}
	ctx := r.Context()
	t := a.begin()
	o, err := t.get(ctx, rtype, id)
	if err != nil {
		return err
	}
	if id == a.bridge.Device {
		return notAllowed("GET, PUT", fmt.Errorf("%w: the bridge's own device cannot be deleted", errNotAllowed))
	}
	err = a.deleteTree(ctx, t, o)
	if err == nil {
		err = a.recomputeGroups(ctx, t)
	}
	if err == nil {
		err = a.commit(ctx, t)
	}
	if err != nil {
		return err
	}
	writeData(w, []ref{{RID: id, RType: rtype}})
	return nil
}

// deleteTree removes a resource, the services it owns (a device's lights
// and buttons, a room's grouped_light) and references to them in groups.
func (a *API) deleteTree(ctx context.Context, t *tx, o object) error {
	gone := map[string]bool{str(o, "id"): true}
	for _, s := range refs(o, "services") {
		_, err := t.remove(ctx, s.RType, s.RID)
		if errors.Is(err, errNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		gone[s.RID] = true
	}
	if _, err := t.remove(ctx, str(o, "type"), str(o, "id")); err != nil {
		return err
	}
	// Drop what went from the home, rooms and zones that list it.
	for _, gt := range []string{"bridge_home", "room", "zone"} {
		groups, err := t.list(ctx, gt)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if !hasChild(g, gone) {
				continue
			}
			if _, err := t.update(ctx, gt, str(g, "id"), func(g object) error {
				g["children"] = withoutChildren(g, gone)
				return nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

func hasChild(g object, rids map[string]bool) bool {
	for _, c := range refs(g, "children") {
		if rids[c.RID] {
			return true
		}
	}
	return false
}

func withoutChildren(g object, rids map[string]bool) []any {
	out := []any{}
	for _, c := range refs(g, "children") {
		if !rids[c.RID] {
			out = append(out, object{"rid": c.RID, "rtype": c.RType})
		}
	}
	return out
}

// nextV1 allocates the next CLIP v1 number of a kind (lights, sensors,
// groups) with compare-and-set, so nodes never hand out the same one. A
// write that fails after allocating leaves a gap, as on a bridge.
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
