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
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// A user's subscription is one cursor, "jetstream.<key id>", whose filter
// is the user's device scope, and each request is one cursor Poll: the
// subscription is read once and written at most once, with compare-and-set
// (and read again only when a request on another node won the race).
//
// Get Events without filters hands out the oldest pending events, at most
// limit, as the cursor's pending batch. Every request forms that batch anew
// from the position, and one over the same events keeps its id: a Get
// repeated returns the same batch until it is deleted, one with another
// limit another batch. Delete Events by BatchId acknowledges the batch.
// The last few batches a later request replaced are remembered: deleting
// one acknowledges the events up to its last, which are exactly its own.
//
// Jetstream can also delete single events (EventIds) and return only the
// events of one device or type (a view, under a batch id of its own); both
// leave holes in what is pending, which one position cannot express. The
// holes are kept in the cursor's Meta as the sequence numbers deleted
// beyond the position. The poll's Keep passes over them, so they are never
// delivered again and the position moves past a pending run of them, and
// its Tidy forgets those the position has passed. Deletions only add
// holes, so concurrent requests on any node neither lose an event nor
// redeliver a deleted one.

const (
	// maxDeleted bounds the holes a subscription may have: deleting single
	// events far ahead of older pending ones beyond it is refused (400).
	maxDeleted = 10000
	// maxScan bounds the events one filtered Get or one EventIds deletion
	// reads past the position.
	maxScan = 5 * eventlog.MaxRead
	// maxReplaced bounds the replaced batches a subscription remembers.
	maxReplaced = 8
)

// subMeta is the dialect's part of the cursor state.
type subMeta struct {
	// Deleted are the sequence numbers after the position that were deleted
	// out of order, ascending.
	Deleted []uint64 `json:"deleted,omitempty"`
	// View is the last batch a filtered Get handed out.
	View *viewBatch `json:"view,omitempty"`
	// Replaced are batches handed out and then replaced, oldest first.
	Replaced []replaced `json:"replaced,omitempty"`
	// Limit is the last Get's limit (0: the default), which a Delete forms
	// the next batch with.
	Limit int `json:"limit,omitempty"`
}

// viewBatch is a batch of a filtered Get: its id and the events in it.
type viewBatch struct {
	ID   string   `json:"id"`
	Seqs []uint64 `json:"seqs"`
}

// replaced is a batch a later request replaced: every event up to Through
// after the position it was formed at was in it (or deleted).
type replaced struct {
	ID      string `json:"id"`
	Through uint64 `json:"through"`
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
	if len(m.Deleted) == 0 && m.View == nil && len(m.Replaced) == 0 && m.Limit == 0 {
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

func (m *subMeta) limit() int {
	if m.Limit > 0 {
		return m.Limit
	}
	return DefaultLimit
}

// delete adds the events seqs to the holes.
func (m *subMeta) delete(c *cursor.State, seqs []uint64) error {
	n := len(m.Deleted)
	for _, s := range seqs {
		if s > c.Acked {
			m.Deleted = append(m.Deleted, s)
		}
	}
	slices.Sort(m.Deleted)
	m.Deleted = slices.Compact(m.Deleted)
	if len(m.Deleted) > maxDeleted {
		return invalid("EventIds", fmt.Sprintf("This subscription has %d events deleted out of order; delete its oldest pending batch first.", n))
	}
	return nil
}

// replace remembers the batch b, which the poll forms anew.
func (m *subMeta) replace(b *cursor.Batch) {
	m.Replaced = slices.DeleteFunc(m.Replaced, func(r replaced) bool { return r.ID == b.ID })
	m.Replaced = append(m.Replaced, replaced{ID: b.ID, Through: b.Through})
	if len(m.Replaced) > maxReplaced {
		m.Replaced = m.Replaced[len(m.Replaced)-maxReplaced:]
	}
}

// tidy forgets the holes, views and replaced batches the position has
// passed, and the replaced batch that is pending again under its id.
func tidy(c *cursor.State) {
	m := metaOf(c)
	i, _ := slices.BinarySearch(m.Deleted, c.Acked+1)
	m.Deleted = m.Deleted[i:]
	m.Replaced = slices.DeleteFunc(m.Replaced, func(r replaced) bool {
		return r.Through <= c.Acked || c.Batch != nil && r.ID == c.Batch.ID
	})
	if m.View != nil && (len(m.View.Seqs) == 0 || m.View.Seqs[len(m.View.Seqs)-1] <= c.Acked) {
		m.View = nil
	}
	setMeta(c, m)
}

// poll runs the one Poll of a request on the subscription st: change,
// then the pending batch formed anew, of at most max events, without the
// holes.
func (a *API) poll(ctx context.Context, st cursor.State, max int, change func(*cursor.State, *subMeta) error) (cursor.Fetched, error) {
	var m subMeta // as change left it, for Keep
	return a.core.Cursors.Poll(ctx, st, cursor.PollRequest{
		Max: max,
		Change: func(c *cursor.State) error {
			m = metaOf(c)
			if err := change(c, &m); err != nil {
				return err
			}
			if c.Batch != nil {
				m.replace(c.Batch)
				c.Batch = nil
			}
			setMeta(c, m)
			return nil
		},
		Keep: func(ev *eventlog.Event) bool { return !m.isDeleted(ev.Seq) },
		Tidy: tidy,
	})
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
	var st cursor.State
	var err error
	if p.filtered() {
		// A view is formed from the state before its poll (see view): read.
		st, err = a.core.Cursors.Get(ctx, id)
	} else {
		// The subscription as this node last read or stored it: the poll's
		// compare-and-set finds another node's change, and an answer
		// without a write (or an error) from it is confirmed by a read.
		st, err = a.core.Cursors.Recent(ctx, id)
	}
	var b batch
	switch {
	case err != nil:
	case p.filtered():
		b, err = a.view(ctx, st, p)
	default:
		b, err = a.pending(ctx, st, p.limit)
	}
	if errors.Is(err, cursor.ErrNotFound) { // never made, or idled out
		return a.subscribe(ctx, key)
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
	now, err := a.core.Start(ctx, dialect.FromNow())
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

// pending answers an unfiltered Get: the oldest pending events, at most
// limit, as the pending batch.
func (a *API) pending(ctx context.Context, st cursor.State, limit int) (batch, error) {
	f, err := a.poll(ctx, st, limit, func(_ *cursor.State, m *subMeta) error {
		m.Limit = limit
		if limit == DefaultLimit {
			m.Limit = 0
		}
		return nil
	})
	if err != nil {
		return batch{}, err
	}
	if f.BatchID == "" {
		a.keepAlive(ctx, f.State)
		return batch{ID: uuid.NewString()}, nil
	}
	// Only the bytes are sent: each event's are built once per process,
	// for every subscription that receives it.
	b := batch{ID: f.BatchID, Events: make([]wireEvent, len(f.Events))}
	for i := range f.Events {
		b.Events[i] = wireEvent{Seq: f.Events[i].Seq, Data: a.core.Hub.Wire(&f.Events[i], a.wire)}
	}
	return b, nil
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
// device, type and version, under a batch id of their own. They are
// scanned from st, so the poll that stores them must be from st too: if
// another request changed what is pending meanwhile (its compare-and-set
// lost), the view is formed again from the subscription as stored.
func (a *API) view(ctx context.Context, st cursor.State, p getParams) (batch, error) {
	for races := 0; ; races++ {
		b, err := a.viewFrom(ctx, st, p)
		if !errors.Is(err, errViewMoved) || races == maxViewRaces {
			return b, err
		}
		if st, err = a.core.Cursors.Get(ctx, st.ID); err != nil {
			return batch{}, err
		}
	}
}

// errViewMoved: what is pending changed after the view was scanned.
var errViewMoved = errors.New("jetstream: subscription changed under a filtered get")

// maxViewRaces bounds how often a filtered Get is formed again.
const maxViewRaces = 20

func (a *API) viewFrom(ctx context.Context, st cursor.State, p getParams) (batch, error) {
	m := metaOf(&st)
	out, err := a.scan(ctx, st, topic.Filter{p.pattern()}, p.limit, func(w *wireEvent) bool {
		return !m.isDeleted(w.Seq) && (p.eventVersion == 0 || w.Version == p.eventVersion)
	})
	if err != nil || len(out) == 0 {
		a.keepAlive(ctx, st)
		return batch{ID: uuid.NewString()}, err
	}
	vb := &viewBatch{ID: uuid.NewString(), Seqs: make([]uint64, len(out))}
	for i := range out {
		vb.Seqs[i] = out[i].Seq
	}
	if _, err := a.poll(ctx, st, m.limit(), func(c *cursor.State, now *subMeta) error {
		// Pending is the events after the position without the holes:
		// as scanned only if neither moved.
		if c.Acked != st.Acked || !slices.Equal(now.Deleted, m.Deleted) {
			return errViewMoved
		}
		now.View = vb
		return nil
	}); err != nil {
		return batch{}, err
	}
	return batch{ID: vb.ID, Events: out}, nil
}

// scan reads the pending events of the subscription st that f matches,
// through the hub, and returns up to want of those match accepts, looking
// at most maxScan events past the position.
func (a *API) scan(ctx context.Context, st cursor.State, f topic.Filter, want int, match func(*wireEvent) bool) ([]wireEvent, error) {
	var out []wireEvent
	sc := a.core.Scan(st.Acked, f, dialect.Page(4*want))
	scanned := 0
	for ev := range sc.Events(ctx) {
		if st.Filter.Match(ev.Topic) {
			if w := toWire(ev); match(&w) {
				if out = append(out, w); len(out) == want {
					break
				}
			}
		}
		if scanned++; scanned == maxScan {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// deleteBatch deletes the events of a batch. An id that names no batch
// handed out (already deleted, or never handed out) deletes nothing:
// clients retry deletes, so they are idempotent.
//
// It starts from the subscription as this node last read or stored it.
// The pending batch, the one a client's loop deletes, is acknowledged in
// one compare-and-set and nothing else: no read of the log, since the
// next Get forms the next batch anyway. A batch the remembered state does
// not name may have been handed out on another node since: the
// subscription is read before the answer that deletes nothing.
func (a *API) deleteBatch(ctx context.Context, keyID, batchID string) error {
	id := subscriptionID(keyID)
	st, err := a.core.Cursors.Recent(ctx, id)
	for read := false; ; read = true {
		if err != nil {
			return ignoreGone(err)
		}
		if st.Batch != nil && st.Batch.ID == batchID {
			_, err = a.core.Cursors.AckFrom(ctx, st, batchID)
			if !errors.Is(err, cursor.ErrBatchNotFound) {
				return ignoreGone(err)
			}
			// Replaced as stored now (a Get that formed it anew, on
			// another node): deleted as a replaced batch is.
			if st, err = a.core.Cursors.Get(ctx, id); err != nil {
				return ignoreGone(err)
			}
			return a.deleteFormer(ctx, st, batchID)
		}
		if m := metaOf(&st); m.names(batchID) {
			return a.deleteFormer(ctx, st, batchID)
		}
		if read {
			return nil // nothing to write
		}
		st, err = a.core.Cursors.Get(ctx, id)
	}
}

// names reports whether batchID is a batch that a later request replaced,
// or the filtered Get's.
func (m *subMeta) names(batchID string) bool {
	return m.replacedAt(batchID) >= 0 || m.View != nil && m.View.ID == batchID
}

func (m *subMeta) replacedAt(batchID string) int {
	return slices.IndexFunc(m.Replaced, func(r replaced) bool { return r.ID == batchID })
}

// deleteFormer deletes the events of batchID, whichever of the batches a
// subscription remembers it is, in one poll from st: the events up to a
// replaced batch's last (which are exactly its own), a view's events as
// holes, or the pending batch if it is pending again.
func (a *API) deleteFormer(ctx context.Context, st cursor.State, batchID string) error {
	m := metaOf(&st)
	if (st.Batch == nil || st.Batch.ID != batchID) && !m.names(batchID) {
		return nil
	}
	_, err := a.poll(ctx, st, m.limit(), func(c *cursor.State, m *subMeta) error {
		switch i := m.replacedAt(batchID); {
		case c.Batch != nil && c.Batch.ID == batchID:
			c.Acked, c.Batch = max(c.Acked, c.Batch.Through), nil
		case i >= 0:
			c.Acked = max(c.Acked, m.Replaced[i].Through)
		case m.View != nil && m.View.ID == batchID:
			seqs := m.View.Seqs
			m.View = nil
			return m.delete(c, seqs)
		}
		return nil
	})
	return ignoreGone(err)
}

// deleteEvents deletes single events by their EventId, looked up among the
// pending ones (up to maxScan past the position). Unknown ids are ignored.
func (a *API) deleteEvents(ctx context.Context, keyID string, ids []string) error {
	st, err := a.core.Cursors.Get(ctx, subscriptionID(keyID))
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
	found, err := a.scan(ctx, st, st.Filter, len(ids), func(w *wireEvent) bool { return want[strings.ToLower(w.EventID)] })
	if err != nil || len(found) == 0 {
		return err
	}
	seqs := make([]uint64, len(found))
	for i := range found {
		seqs[i] = found[i].Seq
	}
	m := metaOf(&st)
	_, err = a.poll(ctx, st, m.limit(), func(c *cursor.State, m *subMeta) error { return m.delete(c, seqs) })
	return ignoreGone(err)
}

// ignoreGone is nil for a subscription deleted meanwhile: nothing is
// pending, so nothing is left to delete.
func ignoreGone(err error) error {
	if errors.Is(err, cursor.ErrNotFound) {
		return nil
	}
	return err
}
