package hue

// Write order. A change to the bridge is an event first, state second:
//
//  1. A write (PUT, POST, DELETE, a simulated press or reading) reads the
//     current state and computes the events the change causes, staging
//     each in a tx exactly as the projection will fold it.
//  2. It appends the events to the log: the log is the source of truth,
//     and once the append is acknowledged the change has happened.
//  3. It projects them: each resource's KV entry records the log sequence
//     it reflects, and projecting folds, in log order, every event on the
//     resource's topic after that sequence (project.go). The write answers
//     only after this, so the same node reads its own write.
//
// The state therefore never holds a change the log lacks, and it equals the
// fold of the log whoever projects: two nodes writing one light both
// append, the log orders the two events, and the light ends as the later
// one says, on every node. A crash between 2 and 3 leaves the log ahead of
// the state, never the reverse, and it is repaired by the projector every
// node runs on the log's tail, or, if no node was running, by the catch-up
// from the last recorded position when one starts.
//
// Writes do not lock across nodes: two nodes changing one resource at the
// same instant each compute from the state they read, and both changes are
// applied in log order (absolute values: the later wins; a relative
// dimming_delta may then apply to the older brightness). PUTs on one node
// to one resource are serialised (API.lock), so relative changes compose.

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// commitTimeout bounds the append and projection of one write.
const commitTimeout = 10 * time.Second

// change is one Hue event item about to be appended: kind is add, update
// or delete; data is the item as it appears in the event's "data" array;
// id, if set, is the log event's id (a mirrored event's, derived from its
// source so that appending it twice stores it once).
type change struct {
	kind, rtype, rid string
	data             json.RawMessage
	id               string
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

// tx gathers the events of one write and the state they lead to. Reads
// through it see its own staged changes over the stored state.
type tx struct {
	store   *store
	staged  map[resource]object // nil: deleted by this write
	changes []change
}

func (a *API) begin() *tx {
	return &tx{store: a.store, staged: map[resource]object{}}
}

// get returns a resource as this write sees it, or errNotFound.
func (t *tx) get(ctx context.Context, rtype, id string) (object, error) {
	if o, ok := t.staged[resource{rtype, id}]; ok {
		if o == nil {
			return nil, errNotFound
		}
		return clone(o), nil
	}
	return t.store.get(ctx, rtype, id)
}

// list returns the resources of one type as this write sees them, by id.
func (t *tx) list(ctx context.Context, rtype string) ([]object, error) {
	stored, err := t.store.list(ctx, rtype)
	if err != nil {
		return nil, err
	}
	out := make([]object, 0, len(stored))
	seen := map[string]bool{}
	for _, o := range stored {
		id := str(o, "id")
		seen[id] = true
		if s, ok := t.staged[resource{rtype, id}]; ok {
			if s != nil {
				out = append(out, clone(s))
			}
			continue
		}
		out = append(out, o)
	}
	for r, s := range t.staged {
		if r.rtype == rtype && s != nil && !seen[r.id] {
			out = append(out, clone(s))
		}
	}
	slices.SortFunc(out, func(a, b object) int {
		switch {
		case str(a, "id") < str(b, "id"):
			return -1
		case str(a, "id") > str(b, "id"):
			return 1
		}
		return 0
	})
	return out, nil
}

// record adds c to the write and stages its effect on cur, the resource's
// state before it, with the projection's own fold.
func (t *tx) record(c change, cur object) {
	item, _ := decodeObject(c.data)
	t.staged[resource{c.rtype, c.rid}] = fold(cur, c.kind, item)
	t.changes = append(t.changes, c)
}

// create adds a new resource (an add event).
func (t *tx) create(o object) {
	t.record(newChange("add", o), nil)
}

// update applies fn to a copy of the resource and, if that changed
// anything, records the update event carrying the changed fields. It
// returns the resource after the change.
func (t *tx) update(ctx context.Context, rtype, id string, fn func(o object) error) (object, error) {
	cur, err := t.get(ctx, rtype, id)
	if err != nil {
		return nil, err
	}
	o := clone(cur)
	if err := fn(o); err != nil {
		return nil, err
	}
	o = normalize(o).(object)
	d := diff(cur, o)
	if len(d) == 0 {
		return cur, nil
	}
	t.record(updated(o, d), cur)
	return t.get(ctx, rtype, id)
}

// emit records an update event carrying fields as given, whether or not
// they differ from the state: a button reports every press, even the same
// one twice.
func (t *tx) emit(ctx context.Context, rtype, id string, fields object) error {
	cur, err := t.get(ctx, rtype, id)
	if err != nil {
		return err
	}
	item := ident(cur)
	for k, v := range fields {
		item[k] = v
	}
	t.record(newChange("update", item), cur)
	return nil
}

// remove deletes a resource (a delete event) and returns what it was.
func (t *tx) remove(ctx context.Context, rtype, id string) (object, error) {
	cur, err := t.get(ctx, rtype, id)
	if err != nil {
		return nil, err
	}
	t.record(deleted(cur), cur)
	return cur, nil
}

// commit appends the write's events and projects them (see the top of
// this file). It runs to the end even if the client goes away, so that a
// write is cut in half only by a crash.
func (a *API) commit(ctx context.Context, t *tx) error {
	_, err := a.commitAcks(ctx, t)
	return err
}

// commitAcks is commit, returning the log's acknowledgements.
func (a *API) commitAcks(ctx context.Context, t *tx) ([]eventlog.Ack, error) {
	if len(t.changes) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	acks, err := a.publish(ctx, t.changes)
	if err != nil {
		return nil, err
	}
	if a.cfg.afterAppend != nil {
		if err := a.cfg.afterAppend(); err != nil {
			return acks, fmt.Errorf("hue: after append: %w", err)
		}
	}
	evs := make([]*eventlog.Event, len(acks))
	for i, ack := range acks {
		evs[i] = &eventlog.Event{Seq: ack.Seq, Topic: resTopic(t.changes[i].rtype, t.changes[i].rid)}
	}
	if err := a.proj.projectEvents(ctx, evs); err != nil {
		return acks, fmt.Errorf("%w: %w", errNotProjected, err)
	}
	return acks, nil
}

// publish appends changes to the log, in order.
func (a *API) publish(ctx context.Context, changes []change) ([]eventlog.Ack, error) {
	drafts := make([]eventlog.Draft, len(changes))
	for i, c := range changes {
		drafts[i] = eventlog.Draft{ID: c.id, Topic: resTopic(c.rtype, c.rid), Type: c.kind, Data: c.data}
	}
	acks, err := a.core.Append(ctx, dialectName, drafts)
	if err != nil {
		return nil, fmt.Errorf("hue: publish: %w", err)
	}
	return acks, nil
}

// lockStripes is how many locks serialise writes on one node.
const lockStripes = 64

// lock serialises this node's writes to one resource (a stripe of them),
// so that a relative change reads the state the previous one left.
func (a *API) lock(rtype, id string) (unlock func()) {
	h := fnv.New32a()
	h.Write([]byte(rtype + "." + id))
	m := &a.locks[h.Sum32()%lockStripes]
	m.Lock()
	return m.Unlock
}
