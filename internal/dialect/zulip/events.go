package zulip

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// errReleased is the cause of a poll's end when a newer poll on the same
// queue, or the queue's deletion, takes over.
var errReleased = errors.New("zulip: poll released")

// polls tracks the poll in flight on each queue on this node: like Zulip,
// a queue has one waiter, and a new poll finishes the previous one (which
// answers with no events) instead of both waiting.
type polls struct {
	mu sync.Mutex
	m  map[string]*pollSlot
}

type pollSlot struct {
	cancel context.CancelCauseFunc
	// The queue's owner, id and registration, for expire_queue rules.
	owner, qid string
	created    time.Time
}

func newPolls() *polls { return &polls{m: map[string]*pollSlot{}} }

// begin registers a poll on the queue of cursor st, releasing the
// previous one; end unregisters it.
func (p *polls) begin(parent context.Context, st cursor.State, qid string) (ctx context.Context, end func()) {
	ctx, cancel := context.WithCancelCause(parent)
	id := st.ID
	s := &pollSlot{cancel: cancel, owner: st.Owner, qid: qid, created: st.Created}
	p.mu.Lock()
	if old := p.m[id]; old != nil {
		old.cancel(errReleased)
	}
	p.m[id] = s
	p.mu.Unlock()
	return ctx, func() {
		p.mu.Lock()
		if p.m[id] == s {
			delete(p.m, id)
		}
		p.mu.Unlock()
		cancel(nil)
	}
}

// release finishes the poll on queue id, if any.
func (p *polls) release(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.m[id]; s != nil {
		s.cancel(errReleased)
		delete(p.m, id)
	}
}

// queue returns the cursor and meta of the user's queue qid; a queue that
// is unknown, expired, deleted, another user's or stored by an older
// herald (whose ids were counted otherwise) is BAD_EVENT_QUEUE_ID. A queue
// this node served before is taken as it last saw it, with no round trip
// (its owner, filter and meta never change), and its meta as decoded
// before (shared: read only); the poll checks with the engine that it
// still exists before it answers.
func (a *API) queue(ctx context.Context, u *user, qid string) (cursor.State, *queueMeta, error) {
	id, ok := queueCursorID(u.Realm, qid)
	if !ok {
		return cursor.State{}, nil, badQueue(qid)
	}
	st, err := a.core.Cursors.GetFollowed(ctx, id)
	if errors.Is(err, cursor.ErrNotFound) {
		return cursor.State{}, nil, badQueue(qid)
	}
	if err != nil {
		return cursor.State{}, nil, err
	}
	if st.Owner != u.KeyID {
		return cursor.State{}, nil, badQueue(qid)
	}
	meta, err := a.metas.decode(st.Meta)
	if err != nil || meta.UserID != u.ID || meta.Scheme != queueScheme {
		return cursor.State{}, nil, badQueue(qid)
	}
	return st, meta, nil
}

// getEvents handles GET /api/v1/events: the queue's events after
// last_event_id, at once if there are any or dont_block is set, else when
// one arrives or with a heartbeat.
func (a *API) getEvents(w http.ResponseWriter, r *http.Request, u *user) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	dontBlock, err := p.boolean("dont_block", false)
	if err != nil {
		return err
	}
	ctx := r.Context()
	qid, _ := p.str("queue_id")
	if qid == "" {
		// Without a queue, Zulip registers one from register's arguments,
		// but only for a request that does not block.
		if !dontBlock {
			return badRequest("Missing 'queue_id' argument")
		}
		qs, err := parseQueueSpec(p)
		if err != nil {
			return err
		}
		p.markUsed("last_event_id")
		qid, st, meta, err := a.createQueue(ctx, u, qs)
		if err != nil {
			return err
		}
		d := a.newDelivery(meta, u)
		evs, err := a.poll(r, qid, st, d, mark{pos: st.Acked})
		if err != nil {
			return err
		}
		writeSuccess(w, p.withIgnored(map[string]any{"events": evs, "queue_id": qid}))
		return nil
	}
	p.markUsed(registerParams...) // accepted, and meaningless with a queue
	last, ok, err := p.integer("last_event_id")
	if err != nil {
		return err
	}
	if !ok {
		return badRequest("Missing 'last_event_id' argument")
	}
	st, meta, err := a.queue(ctx, u, qid)
	if err != nil {
		return err
	}
	d := a.newDelivery(meta, u)
	from, err := a.resolveLast(ctx, &st, d, last)
	if err != nil {
		// A queue gone meanwhile is BAD_EVENT_QUEUE_ID whatever the id:
		// the client registers again instead of retrying.
		if _, gerr := a.core.Cursors.Get(ctx, st.ID); gerr != nil {
			err = gerr
		}
		return a.queueErr(ctx, st.ID, qid, err)
	}
	if over, err := a.overCap(ctx, st, from.pos); err != nil || over {
		if err == nil {
			err = a.expireOverCap(ctx, st.ID, qid)
		}
		return a.queueErr(ctx, st.ID, qid, err)
	}
	ignored := p.ignored() // before the wait, which need not keep p
	if !dontBlock {
		return a.park(w, r, ignored, qid, st, d, from)
	}
	evs, err := a.poll(r, qid, st, d, from)
	if err != nil {
		return err
	}
	a.writePoll(w, ignored, evs)
	return nil
}

// writePoll writes a poll's answer, with the arguments it ignored if any.
func (a *API) writePoll(w http.ResponseWriter, ignored []string, evs []json.RawMessage) {
	if len(ignored) > 0 {
		writeSuccess(w, withIgnored(map[string]any{"events": evs}, ignored))
		return
	}
	writeEvents(w, evs)
}

// park answers a poll that blocks from a wait off its handler
// (deliver.ServePoll): while it waits it holds no goroutine, and it checks
// its queue with the engine (Recheck, past the barrier the polls
// answering together share) only once it has something to answer. A
// newer poll of the queue, its deletion or an expire_queue rule ends the
// wait (polls).
func (a *API) park(w http.ResponseWriter, r *http.Request, ignored []string, qid string, st cursor.State, d *delivery, from mark) error {
	id := st.ID
	done, end := a.polls.begin(context.Background(), st, qid)
	if err := a.expireFault(r.Context(), st, qid); err != nil {
		end()
		return err // checked once the poll is registered: expireWaiting sees those after
	}
	wait := a.heartbeatAfter()
	st, mark, err := a.core.Cursors.FollowPark(r.Context(), st, cursor.FollowRequest{After: from.pos, Max: a.cfg.MaxBatch, Wait: wait})
	if err != nil {
		end()
		return a.queueErr(r.Context(), id, qid, err)
	}
	sub := a.core.Hub.Subscribe(from.pos, st.Filter)
	fail := a.guard.FailLater(r)
	a.core.Deliver.ServePoll(w, r, deliver.Poll{
		Transport: dialectName, Sub: sub, Max: a.cfg.MaxBatch, Wait: wait, Done: done, Release: end,
		Keep: func(e *hub.Event) bool { return d.keep(&e.Event) },
		Answer: func(w http.ResponseWriter, evs []*hub.Event, err error) {
			out, err := a.answer(done, id, qid, d, from, mark, sub.Position(), evs, err)
			if err != nil {
				fail(w, err)
				return
			}
			a.writePoll(w, ignored, out)
		},
	})
	return nil
}

// answer is what a parked poll answers: nothing if a newer poll or a
// deletion ended it (BAD_EVENT_QUEUE_ID if the queue is gone), else, once
// the queue is known to exist still, its events, or a heartbeat whose id
// says how far the poll found none.
func (a *API) answer(done context.Context, id, qid string, d *delivery, from mark, fm cursor.FollowMark, through uint64, hevs []*hub.Event, rerr error) ([]json.RawMessage, error) {
	ctx := context.WithoutCancel(a.core.Shutdown)
	switch {
	case done.Err() != nil:
		return a.released(ctx, done, id, qid)
	case rerr != nil:
		return nil, a.queueErr(ctx, id, qid, rerr)
	case a.core.Shutdown.Err() != nil:
		return []json.RawMessage{}, nil // the client polls again, elsewhere
	}
	if _, err := a.core.Cursors.Recheck(ctx, id, fm, through); err != nil {
		return nil, a.queueErr(ctx, id, qid, err)
	}
	if len(hevs) == 0 {
		return []json.RawMessage{heartbeat(heartbeatID(from, through))}, nil
	}
	evs := make([]eventlog.Event, len(hevs))
	for i, e := range hevs {
		evs[i] = e.Event
	}
	return a.delivered(ctx, id, qid, d, evs)
}

// overCap reports whether more than MaxQueueEvents events are pending after
// pos. The count is read only when pos lags the hub's tail by more than
// the cap, so a queue that keeps up costs nothing here. The tail may lag
// the log by a moment; an answer over the cap is caught when it is read
// (poll).
func (a *API) overCap(ctx context.Context, st cursor.State, pos uint64) (bool, error) {
	last := a.core.Hub.Last()
	if last <= pos || last-pos <= uint64(a.cfg.MaxQueueEvents) {
		return false, nil
	}
	st.Acked = pos
	n, err := a.core.Cursors.Pending(ctx, st, a.cfg.MaxQueueEvents+1)
	return n > a.cfg.MaxQueueEvents, err
}

// expireOverCap drops a queue over its cap: the client registers again,
// and no event is dropped silently.
func (a *API) expireOverCap(ctx context.Context, id, qid string) error {
	a.core.Logger.Info("zulip: queue over its cap expired", "queue", id, "cap", a.cfg.MaxQueueEvents)
	return a.dropQueue(ctx, id, qid)
}

// dropQueue deletes a queue and releases its poll; the error tells the
// client to register again.
func (a *API) dropQueue(ctx context.Context, id, qid string) error {
	if err := a.core.Cursors.Delete(ctx, id); err != nil && !errors.Is(err, cursor.ErrNotFound) {
		return err
	}
	a.polls.release(id)
	return badQueue(qid)
}

// queueErr maps a cursor error: a queue that is gone, or whose position
// fell out of the log's retention, is BAD_EVENT_QUEUE_ID (the client
// registers again and loses nothing silently).
func (a *API) queueErr(ctx context.Context, id, qid string, err error) error {
	switch {
	case errors.Is(err, cursor.ErrNotFound):
		return badQueue(qid)
	case errors.Is(err, cursor.ErrExpired):
		return a.dropQueue(ctx, id, qid)
	}
	return err
}

// poll answers a poll of queue qid that does not block (dont_block; a
// blocking one parks, see park), whose cursor st was read at the start of
// the request, from the client's position: one cursor Follow, which
// writes nothing (but a rare refresh of the queue's idle clock). Events
// this user may not see are passed over.
func (a *API) poll(r *http.Request, qid string, st cursor.State, d *delivery, from mark) ([]json.RawMessage, error) {
	sctx, scancel := a.core.Deliver.StreamContext(r)
	defer scancel()
	ctx, end := a.polls.begin(sctx, st, qid)
	defer end()
	if err := a.expireFault(r.Context(), st, qid); err != nil {
		return nil, err // checked once the poll is registered: expireWaiting sees those after
	}
	f, err := a.core.Cursors.Follow(ctx, st, cursor.FollowRequest{After: from.pos, Max: a.cfg.MaxBatch, Keep: d.keep})
	if err != nil && ctx.Err() != nil {
		return a.released(r.Context(), ctx, st.ID, qid)
	}
	if err != nil {
		return nil, a.queueErr(r.Context(), st.ID, qid, err)
	}
	return a.delivered(r.Context(), st.ID, qid, d, f.Events)
}

// released is the answer of a poll a newer poll, a DELETE, an
// expire_queue rule or a shutdown finished (done's cause): no events now
// (the client polls again), unless the queue is gone.
func (a *API) released(ctx, done context.Context, id, qid string) ([]json.RawMessage, error) {
	if errors.Is(context.Cause(done), errFaultExpired) {
		return nil, a.expired(ctx, id, qid)
	}
	if errors.Is(context.Cause(done), errReleased) {
		if _, gerr := a.core.Cursors.Get(ctx, id); errors.Is(gerr, cursor.ErrNotFound) {
			return nil, badQueue(qid)
		}
	}
	return []json.RawMessage{}, nil
}

// delivered returns the Zulip events of evs for the queue, counted as
// delivered; more than its cap drops the queue instead (a cap below the
// batch size, or events the hub's tail had not delivered when overCap
// looked).
func (a *API) delivered(ctx context.Context, id, qid string, d *delivery, evs []eventlog.Event) ([]json.RawMessage, error) {
	if len(evs) > a.cfg.MaxQueueEvents {
		return nil, a.queueErr(ctx, id, qid, a.expireOverCap(ctx, id, qid))
	}
	out := d.events(evs)
	a.core.Metrics.EventsDelivered.WithLabelValues(dialectName).Add(float64(len(out)))
	return out, nil
}

// deleteEvents handles DELETE /api/v1/events: queue_id in the body
// (python-zulip-api) or the query string (zulip-js).
func (a *API) deleteEvents(w http.ResponseWriter, r *http.Request, u *user) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	qid, ok := p.str("queue_id")
	if !ok {
		return missingArgument("queue_id")
	}
	ctx := r.Context()
	st, _, err := a.queue(ctx, u, qid)
	id := st.ID
	if err == nil {
		err = a.core.Cursors.Delete(ctx, id)
	}
	if err != nil {
		return a.queueErr(ctx, id, qid, err)
	}
	a.polls.release(id) // after the delete, so the released poll sees the queue gone
	writeSuccess(w, p.withIgnored(map[string]any{}))
	return nil
}
