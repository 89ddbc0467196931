package hue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/eventlog"
)

// The end of a mirror. When its connector is removed, herald stops being
// the upstream's bridge and is its own again, in this order:
//
//  1. every resource held (the upstream's) is deleted with a delete event,
//     so a client on the stream sees the real bridge's devices go, rather
//     than keeping copies that nothing follows and that no write reaches;
//  2. herald's own bridge resources (its bridge, bridge device, home) come
//     back with add events;
//  3. the mirror record is deleted: every node answers with herald's own
//     bridge id again and turns the simulator back on.
//
// The events' ids are derived from the connector, the resource and the
// state they were computed from, and the record goes last, so a crash in
// between leaves the record naming a connector without a definition, and
// ending again (on any node) appends only what is missing.

// Mirroring returns the connector this bridge mirrors, "" if none.
func (a *API) Mirroring() string {
	if m := a.mirroring(); m != nil {
		return m.Connector
	}
	return ""
}

// EndMirror ends the mirror of connector, if this bridge is one. Its caller
// makes sure the connector runs nowhere (connector.Remover).
func (a *API) EndMirror(ctx context.Context, connector string) error {
	a.endMu.Lock()
	defer a.endMu.Unlock()
	e, err := a.store.kv.Get(ctx, mirrorKey)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hue: mirror record: %w", err)
	}
	var rec mirrorRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil || rec.Connector != connector {
		return nil // another connector's, or none
	}
	held, err := a.store.entries(ctx)
	if err != nil {
		return err
	}
	id := func(c change, step string, e entry) change {
		c.id = uuid.NewSHA1(mirrorNS, fmt.Appendf(nil, "%s\x00end\x00%s\x00%s\x00%s\x00%d",
			connector, step, c.rtype, c.rid, e.Seq)).String()
		return c
	}
	own := map[resource]object{}
	for _, o := range bridgeResources(a.bridge) {
		own[resource{str(o, "type"), str(o, "id")}] = o
	}
	t := a.begin()
	for _, r := range sortedResources(held) {
		if e := held[r]; e.Res != nil && own[r] == nil {
			t.changes = append(t.changes, id(deleted(e.Res), "delete", e))
		}
	}
	for _, o := range bridgeResources(a.bridge) {
		r := resource{str(o, "type"), str(o, "id")}
		if e := held[r]; e.Res == nil {
			t.changes = append(t.changes, id(newChange("add", o), "own", e))
		}
	}
	if _, err := (&Mirror{a: a, connector: connector}).appendChanges(ctx, t); err != nil {
		return fmt.Errorf("hue: end the mirror: %w", err)
	}
	err = a.store.kv.Delete(ctx, mirrorKey, e.Revision)
	if errors.Is(err, eventlog.ErrConflict) {
		// Another node ended it first, or a connector began meanwhile.
		if _, gerr := a.store.kv.Get(ctx, mirrorKey); errors.Is(gerr, eventlog.ErrKeyNotFound) {
			err = nil
		}
	}
	if err != nil && !errors.Is(err, eventlog.ErrKeyNotFound) {
		return fmt.Errorf("hue: end the mirror record: %w", err)
	}
	a.mirror.Store(nil)
	return nil
}
