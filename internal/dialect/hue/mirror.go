package hue

// A mirrored bridge. A connector of kind hue (internal/connector/hueconn)
// makes herald the one client of a real bridge and the bridge of everyone
// else; this file is what the dialect does for it. The design of the rest
// of the package is kept: the upstream's changes are events appended to the
// log first and folded into the state second (tx.go), so every node's
// projector and catch-up treat them like any write.
//
//  1. Begin stores the mirror record (which connector, the upstream's bridge
//     id and name) in the state bucket; every node follows it. From then
//     on every node answers discovery with the upstream's bridge id,
//     forwards its clients' writes to the upstream (mirrorwrite.go) and
//     refuses the simulator's admin endpoints, so that a simulated device
//     cannot be mixed into a real bridge.
//  2. Sync turns the difference between what herald holds and the
//     upstream's resources into add, update and delete events, at the start
//     and after every reconnect: a client resuming across the gap gets what
//     changed, which the bridge itself never replays.
//  3. Ingest appends the upstream stream's events as they come.
//
// Every event's id is derived from its source (the upstream event's id, or
// a digest of the resource's stored state and the change), so appending it
// again after a crash is a duplicate the log drops, never a second event.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

const (
	mirrorPrefix = "mirror."
	mirrorKey    = mirrorPrefix + "record"
)

// mirrorNS derives the ids of mirrored events.
var mirrorNS = uuid.MustParse("0b9f3c2e-6d0a-4f4e-a3c1-7e5d2b8a9f10")

// errMirrored refuses what a mirrored bridge cannot do (409, native shape
// on admin endpoints).
var errMirrored = dialect.Sentinel(dialect.Conflict, "this bridge mirrors a real bridge")

// mirrorRecord says which upstream this bridge mirrors; the upstream's
// secrets stay with the connector's definition.
type mirrorRecord struct {
	Connector string    `json:"connector"`
	BridgeID  string    `json:"bridge_id"` // the upstream's, lower case
	Name      string    `json:"name"`
	Since     time.Time `json:"since"`
}

// Event is one Hue event as a bridge's stream carries it.
type Event struct {
	CreationTime string            `json:"creationtime"`
	ID           string            `json:"id"`
	Type         string            `json:"type"`
	Data         []json.RawMessage `json:"data"`
}

// Mirror is the dialect's side of a hue connector.
type Mirror struct {
	a         *API
	connector string
}

// Mirror returns the handle a connector named connector drives.
func (a *API) Mirror(connector string) *Mirror { return &Mirror{a: a, connector: connector} }

// mirroring returns the mirror record this node follows, nil if none.
func (a *API) mirroring() *mirrorRecord { return a.mirror.Load() }

// ErrMirrorTaken is Begin's answer while the bridge mirrors another
// connector's upstream (one that is being removed, or a second connector
// defined at the same instant on another node).
var ErrMirrorTaken = errors.New("hue: this herald mirrors another connector's bridge")

// Begin records that this bridge mirrors the bridge with id bridgeID and
// name. Stored once per change: a reconnect to the same bridge writes nothing.
func (m *Mirror) Begin(ctx context.Context, bridgeID, name string) error {
	cur := m.a.mirroring()
	if cur != nil && cur.Connector != m.connector {
		return fmt.Errorf("%w (connector %q, bridge %s)", ErrMirrorTaken, cur.Connector, cur.BridgeID)
	}
	if cur != nil && cur.BridgeID == bridgeID && cur.Name == name {
		return nil
	}
	rec := mirrorRecord{Connector: m.connector, BridgeID: bridgeID, Name: name, Since: m.a.cfg.Now().UTC()}
	b, _ := json.Marshal(rec)
	if _, err := m.a.store.kv.Put(ctx, mirrorKey, b); err != nil {
		return fmt.Errorf("hue: mirror record: %w", err)
	}
	m.a.mirror.Store(&rec)
	return nil
}

// loadMirror reads the mirror record once, before the node serves.
func (a *API) loadMirror(ctx context.Context) error {
	e, err := a.store.kv.Get(ctx, mirrorKey)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hue: mirror record: %w", err)
	}
	a.applyMirror(e)
	return nil
}

func (a *API) applyMirror(e eventlog.Entry) {
	var rec mirrorRecord
	if e.Value == nil || json.Unmarshal(e.Value, &rec) != nil || rec.Connector == "" {
		a.mirror.Store(nil)
		return
	}
	a.mirror.Store(&rec)
}

// followMirror keeps the record current with the other nodes' until ctx ends.
func (a *API) followMirror(ctx context.Context) {
	eventlog.Follow(ctx, a.core.Logger, "hue: mirror record", func(ctx context.Context) error {
		return a.store.kv.Watch(ctx, mirrorPrefix, func(e eventlog.Entry) {
			if e.Key == mirrorKey {
				a.applyMirror(e)
			}
		})
	})
}

// Sync makes the state equal the upstream's resources, snapshot, with
// add, update and delete events, then ingests overlap: the stream's events
// that arrived before the snapshot was read, which it may or may not
// include (see absorbed). It returns how many events it appended.
func (m *Mirror) Sync(ctx context.Context, snapshot []json.RawMessage, overlap []Event) (int, error) {
	held, err := m.a.store.entries(ctx)
	if err != nil {
		return 0, err
	}
	snap := map[resource]object{}
	var order []resource
	for _, raw := range snapshot {
		o, ok := mirrorable(raw)
		if !ok {
			continue
		}
		r := resource{str(o, "type"), str(o, "id")}
		if _, dup := snap[r]; !dup {
			order = append(order, r)
		}
		snap[r] = o
	}
	t := m.a.begin()
	digest := func(c change, e entry) change {
		c.id = uuid.NewSHA1(mirrorNS, fmt.Appendf(nil, "%s\x00sync\x00%s\x00%s\x00%d\x00%s\x00%s",
			m.connector, c.rtype, c.rid, e.Seq, c.kind, c.data)).String()
		return c
	}
	for _, r := range order {
		o, e := snap[r], held[r]
		switch {
		case e.Res == nil:
			t.changes = append(t.changes, digest(newChange("add", o), e))
		default:
			if d := diff(e.Res, o); len(d) > 0 {
				wholeReports(d, o)
				t.changes = append(t.changes, digest(updated(o, d), e))
			}
		}
	}
	for _, r := range sortedResources(held) {
		if e := held[r]; e.Res != nil && snap[r] == nil {
			t.changes = append(t.changes, digest(deleted(e.Res), e))
		}
	}
	n, err := m.appendChanges(ctx, t)
	if err != nil {
		return n, err
	}
	rest := overlap[absorbed(overlap, snap):]
	k, err := m.Ingest(ctx, rest)
	return n + k, err
}

// wholeReports puts the whole of every report a diff touches back into it
// (button_report, motion_report, …): a report is one reading, its time and
// its value, and clients read it whole ("a short_release at 12:03"), as a
// bridge sends it.
func wholeReports(d, o object) {
	for k, v := range d {
		dv, ok := v.(object)
		if !ok {
			continue
		}
		if strings.HasSuffix(k, "_report") {
			d[k] = o[k]
			continue
		}
		if ov, ok := o[k].(object); ok {
			wholeReports(dv, ov)
		}
	}
}

// Ingest appends events of the upstream's stream, in order, one log event
// per data item, and folds them. Items that are not a resource herald
// knows (an unknown type, an id that is not a UUID) are skipped.
func (m *Mirror) Ingest(ctx context.Context, evs []Event) (int, error) {
	t := m.a.begin()
	for _, ev := range evs {
		switch ev.Type {
		case "add", "update", "delete":
		default:
			continue
		}
		for i, raw := range ev.Data {
			o, ok := mirrorable(raw)
			if !ok {
				continue
			}
			c := change{kind: ev.Type, rtype: str(o, "type"), rid: str(o, "id"), data: raw}
			c.id = uuid.NewSHA1(mirrorNS, []byte(m.connector+"\x00"+ev.ID+"/"+strconv.Itoa(i))).String()
			t.changes = append(t.changes, c)
		}
	}
	return m.appendChanges(ctx, t)
}

// appendChanges commits t and counts the events the log stored (not the
// ones it already had).
func (m *Mirror) appendChanges(ctx context.Context, t *tx) (int, error) {
	if len(t.changes) == 0 {
		return 0, nil
	}
	acks, err := m.a.commitAcks(ctx, t)
	n := 0
	for _, a := range acks {
		if !a.Duplicate {
			n++
		}
	}
	return n, err
}

// mirrorable decodes an upstream item and says whether it names a resource
// herald can hold: a known type and a UUID id (its topic must be valid).
func mirrorable(raw json.RawMessage) (object, bool) {
	var o object
	if json.Unmarshal(raw, &o) != nil {
		return nil, false
	}
	rtype, id := str(o, "type"), str(o, "id")
	return o, knownType(rtype) && uuidRE.MatchString(id)
}

// entries returns every resource entry the bucket holds, tombstones too.
func (s *store) entries(ctx context.Context) (map[resource]entry, error) {
	list, err := s.kv.List(ctx, resPrefix)
	if err != nil {
		return nil, fmt.Errorf("hue: list resources: %w", err)
	}
	out := make(map[resource]entry, len(list))
	for _, e := range list {
		ent, err := decodeEntry(e.Value)
		if err != nil {
			return nil, err
		}
		rtype, id, ok := parseResTopic("hue." + e.Key[len(resPrefix):])
		if !ok {
			continue
		}
		out[resource{rtype, id}] = ent
	}
	return out, nil
}
