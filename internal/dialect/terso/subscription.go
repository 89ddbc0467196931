package terso

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// A user's subscription is one cursor, "jetstream.<key id>", whose filter
// is the user's device scope. Get Events without filters is the cursor's
// pending batch (Fetch); Delete Events by BatchId acknowledges it (Ack).
//
// Jetstream can also delete single events (EventIds) and return only the
// events of one device or type; both leave holes in what is pending, which
// one position cannot express. The holes are kept in the cursor's Meta as
// the sequence numbers deleted beyond the position, never delivered again,
// and the position moves over them as soon as they are a prefix of what is
// pending (compact), so the set stays small. Deletions only ever add to the
// set, and every change is a compare-and-set on the cursor, so concurrent
// requests on any node neither lose an event nor redeliver a deleted one.

const (
	// maxDeleted bounds the holes a subscription may have: deleting single
	// events far ahead of older pending ones beyond it is refused (400).
	maxDeleted = 10000
	// maxScan bounds the events one filtered Get or one EventIds deletion
	// reads past the position.
	maxScan = 5 * eventlog.MaxRead
	// maxRounds bounds how often one Get re-fetches a batch whose events
	// were all deleted by id.
	maxRounds = 4
)

// subMeta is the dialect's part of the cursor state.
type subMeta struct {
	// Deleted are the sequence numbers after the position that were deleted
	// out of order, ascending.
	Deleted []uint64 `json:"deleted,omitempty"`
	// View is the last batch a filtered Get handed out.
	View *viewBatch `json:"view,omitempty"`
}

// viewBatch is a batch of a filtered Get: its id and the events in it.
type viewBatch struct {
	ID   string   `json:"id"`
	Seqs []uint64 `json:"seqs"`
}

func subscriptionID(keyID string) string { return Dialect + "." + keyID }

func metaOf(st *cursor.State) subMeta {
	var m subMeta
	if len(st.Meta) > 0 {
		if err := json.Unmarshal(st.Meta, &m); err != nil {
			// Only this package writes it; a damaged one is treated as
			// empty rather than locking the user out.
			return subMeta{}
		}
	}
	return m
}

func setMeta(st *cursor.State, m subMeta) {
	if len(m.Deleted) == 0 && m.View == nil {
		st.Meta = nil
		return
	}
	b, err := json.Marshal(m)
	if err == nil {
		st.Meta = b
	}
}

func (m *subMeta) isDeleted(seq uint64) bool {
	_, ok := slices.BinarySearch(m.Deleted, seq)
	return ok
}

// batch is the answer to one Get Events.
type batch struct {
	ID     string
	Events []wireEvent
}

// get answers Get Events for key: the first call subscribes and returns an
// empty batch; later ones return the oldest pending events, which stay
// pending until deleted.
func (a *API) get(ctx context.Context, key *auth.Key, p getParams) (batch, error) {
	id := subscriptionID(key.ID)
	st, err := a.core.Cursors.Get(ctx, id)
	if errors.Is(err, cursor.ErrNotFound) {
		return a.subscribe(ctx, key)
	}
	if err != nil {
		return batch{}, err
	}
	var b batch
	if p.filtered() {
		b, err = a.view(ctx, st, p)
	} else {
		b, err = a.pending(ctx, st, p.limit)
	}
	if errors.Is(err, cursor.ErrExpired) {
		// The log no longer holds the subscription's position: it is over,
		// and the client is told so; its next Get subscribes anew.
		if derr := a.core.Cursors.Delete(ctx, id); derr != nil && !errors.Is(derr, cursor.ErrNotFound) {
			a.core.Logger.Warn("jetstream: drop expired subscription", "id", id, "err", derr)
		}
		a.core.Logger.Warn("jetstream: subscription lost its position to retention", "id", id, "err", err)
	}
	return b, err
}

// subscribe creates the user's subscription at the head of the log: events
// are queued only from now on, as Jetstream documents.
func (a *API) subscribe(ctx context.Context, key *auth.Key) (batch, error) {
	f, err := topic.NewFilter(key.Subscribe)
	if err != nil {
		return batch{}, fmt.Errorf("jetstream: user %s scope: %w", key.ID, err)
	}
	now, err := a.core.Hub.Now(ctx)
	if err != nil {
		return batch{}, err
	}
	_, err = a.core.Cursors.Create(ctx, subscriptionID(key.ID), cursor.Spec{
		Filter: f, After: now, Owner: key.ID, IdleTTL: a.cfg.IdleTTL,
	})
	if err != nil && !errors.Is(err, cursor.ErrExists) { // a concurrent first Get made it
		return batch{}, err
	}
	a.core.Logger.Info("jetstream: subscribed", "user", key.ID)
	return batch{ID: uuid.NewString()}, nil
}

// pending returns the cursor's pending batch without the events deleted by
// id. A batch whose events were all deleted is acknowledged and the next
// one fetched.
func (a *API) pending(ctx context.Context, st cursor.State, limit int) (batch, error) {
	for range maxRounds {
		f, err := a.core.Cursors.Fetch(ctx, st.ID, limit, 0)
		if err != nil {
			return batch{}, err
		}
		st = f.State
		if f.BatchID == "" {
			a.keepAlive(ctx, st)
			return batch{ID: uuid.NewString()}, nil
		}
		m := metaOf(&st)
		b := batch{ID: f.BatchID, Events: make([]wireEvent, 0, len(f.Events))}
		for i := range f.Events {
			if !m.isDeleted(f.Events[i].Seq) {
				b.Events = append(b.Events, toWire(&f.Events[i]))
			}
		}
		if len(b.Events) > 0 {
			return b, nil
		}
		if _, err := a.ackBatch(ctx, st.ID, f.BatchID); err != nil {
			return batch{}, err
		}
	}
	return batch{ID: uuid.NewString()}, nil
}

// keepAlive marks an idle subscription active: a Get that finds nothing
// pending does not write the cursor, but it must still keep the
// subscription from expiring. It writes at most every IdleTTL/720 (an hour
// for 30 days), not on every poll.
func (a *API) keepAlive(ctx context.Context, st cursor.State) {
	if st.IdleTTL <= 0 || a.cfg.Now().Sub(st.LastActive) < st.IdleTTL/720 {
		return
	}
	if _, err := a.core.Cursors.Touch(ctx, st.ID); err != nil {
		a.core.Logger.Warn("jetstream: touch subscription", "id", st.ID, "err", err)
	}
}

// view answers a filtered Get: the oldest pending events of the requested
// device, type and version, under a batch id of their own.
func (a *API) view(ctx context.Context, st cursor.State, p getParams) (batch, error) {
	m := metaOf(&st)
	f := topic.Filter{p.pattern()}
	var out []wireEvent
	var seqs []uint64
	after, scanned := st.Acked, 0
	for len(out) < p.limit && scanned < maxScan {
		evs, next, err := a.core.Log.Read(ctx, after, f, min(4*p.limit, eventlog.MaxRead))
		if err != nil {
			return batch{}, err
		}
		for i := range evs {
			ev := &evs[i]
			if !st.Filter.Match(ev.Topic) || m.isDeleted(ev.Seq) {
				continue
			}
			w := toWire(ev)
			if p.eventVersion != 0 && w.Version != p.eventVersion {
				continue
			}
			out = append(out, w)
			seqs = append(seqs, ev.Seq)
			if len(out) == p.limit {
				break
			}
		}
		scanned += len(evs)
		if len(evs) == 0 || next <= after {
			break
		}
		after = next
	}
	if len(out) == 0 {
		st, err := a.core.Cursors.Touch(ctx, st.ID)
		if err != nil {
			return batch{}, err
		}
		a.keepAlive(ctx, st)
		return batch{ID: uuid.NewString()}, nil
	}
	vb := &viewBatch{ID: uuid.NewString(), Seqs: seqs}
	if _, err := a.core.Cursors.Modify(ctx, st.ID, func(c *cursor.State) {
		cm := metaOf(c)
		cm.View = vb
		setMeta(c, cm)
	}); err != nil {
		return batch{}, err
	}
	return batch{ID: vb.ID, Events: out}, nil
}

// deleteBatch deletes the events of a batch. An id that names no pending
// batch (already deleted, or never handed out) deletes nothing: clients
// retry deletes, so they are idempotent.
func (a *API) deleteBatch(ctx context.Context, keyID, batchID string) error {
	id := subscriptionID(keyID)
	st, err := a.core.Cursors.Get(ctx, id)
	if errors.Is(err, cursor.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Batch != nil && strings.EqualFold(st.Batch.ID, batchID) {
		_, err := a.ackBatch(ctx, id, st.Batch.ID)
		return err
	}
	if m := metaOf(&st); m.View != nil && strings.EqualFold(m.View.ID, batchID) {
		return a.markDeleted(ctx, st, m.View.Seqs, m.View.ID)
	}
	return nil
}

// ackBatch acknowledges the cursor's pending batch, then forgets the holes
// the position has moved past.
func (a *API) ackBatch(ctx context.Context, id, batchID string) (cursor.State, error) {
	st, err := a.core.Cursors.Ack(ctx, id, batchID)
	if errors.Is(err, cursor.ErrBatchNotFound) || errors.Is(err, cursor.ErrNotFound) {
		return st, nil // acknowledged meanwhile by another request
	}
	if err != nil {
		return st, err
	}
	return a.compact(ctx, st)
}

// deleteEvents deletes single events by their EventId, looked up among the
// pending ones (up to maxScan past the position). Unknown ids are ignored.
func (a *API) deleteEvents(ctx context.Context, keyID string, ids []string) error {
	id := subscriptionID(keyID)
	st, err := a.core.Cursors.Get(ctx, id)
	if errors.Is(err, cursor.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(ids))
	for _, s := range ids {
		want[s] = true
	}
	var seqs []uint64
	after, scanned := st.Acked, 0
	for len(seqs) < len(want) && scanned < maxScan {
		evs, next, err := a.core.Log.Read(ctx, after, st.Filter, eventlog.MaxRead)
		if err != nil {
			return err
		}
		for i := range evs {
			if w := toWire(&evs[i]); want[strings.ToLower(w.EventID)] {
				seqs = append(seqs, evs[i].Seq)
			}
		}
		scanned += len(evs)
		if len(evs) == 0 || next <= after {
			break
		}
		after = next
	}
	if len(seqs) == 0 {
		return nil
	}
	return a.markDeleted(ctx, st, seqs, "")
}

// markDeleted adds seqs to the subscription's holes (dropping the filtered
// batch viewID if given), then moves the position over the holes that
// lead what is pending.
func (a *API) markDeleted(ctx context.Context, st cursor.State, seqs []uint64, viewID string) error {
	if m := metaOf(&st); len(m.Deleted)+len(seqs) > maxDeleted {
		return invalid("EventIds", fmt.Sprintf("This subscription has %d events deleted out of order; delete its oldest pending batch first.", len(m.Deleted)))
	}
	st, err := a.core.Cursors.Modify(ctx, st.ID, func(c *cursor.State) {
		m := metaOf(c)
		for _, s := range seqs {
			if s > c.Acked && !m.isDeleted(s) {
				m.Deleted = append(m.Deleted, s)
			}
		}
		slices.Sort(m.Deleted)
		if viewID != "" && m.View != nil && m.View.ID == viewID {
			m.View = nil
		}
		setMeta(c, m)
	})
	if errors.Is(err, cursor.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = a.compact(ctx, st)
	return err
}

// compact moves the position over the deleted events that lead what is
// pending and forgets holes at or before the position.
func (a *API) compact(ctx context.Context, st cursor.State) (cursor.State, error) {
	m := metaOf(&st)
	if len(m.Deleted) == 0 {
		return st, nil
	}
	evs, _, err := a.core.Log.Read(ctx, st.Acked, st.Filter, min(len(m.Deleted)+1, eventlog.MaxRead))
	if err != nil {
		return st, err
	}
	var upTo uint64
	for i := range evs {
		if !m.isDeleted(evs[i].Seq) {
			break
		}
		upTo = evs[i].Seq
	}
	if upTo > st.Acked {
		// Deletions are never undone, so every event up to upTo stays
		// deleted whatever happened to the cursor since it was read. A
		// batch handed out keeps its id (AdvanceTo, not AckUpTo): the client
		// deletes it by that id next, and must not get its rest again.
		if st, err = a.core.Cursors.AdvanceTo(ctx, st.ID, upTo); err != nil {
			return st, err
		}
	}
	if len(m.Deleted) > 0 && m.Deleted[0] <= st.Acked {
		return a.core.Cursors.Modify(ctx, st.ID, func(c *cursor.State) {
			cm := metaOf(c)
			i := 0
			for i < len(cm.Deleted) && cm.Deleted[i] <= c.Acked {
				i++
			}
			cm.Deleted = cm.Deleted[i:]
			setMeta(c, cm)
		})
	}
	return st, nil
}
