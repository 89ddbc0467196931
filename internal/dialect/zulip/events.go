package zulip

import (
	"context"
	"errors"
	"net/http"

	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/hub"
)

// errReleased is the cause of a poll's end when a newer poll on the same
// queue, or the queue's deletion, takes over.
var errReleased = errors.New("zulip: poll released")

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
	qid, _ := p.str("queue_id")
	if qid == "" {
		// Without a queue, Zulip registers one from register's arguments,
		// but only for a request that does not block.
		if !dontBlock {
			return badRequest("Missing 'queue_id' argument")
		}
		return a.registerAndPoll(w, r, u, p)
	}
	p.markUsed(registerParams...) // accepted, and meaningless with a queue
	last, ok, err := p.integer("last_event_id")
	if err != nil {
		return err
	}
	if !ok {
		return badRequest("Missing 'last_event_id' argument")
	}
	ctx := r.Context()
	st, meta, err := a.queue(ctx, u, qid)
	if err != nil {
		return err
	}
	if !dontBlock {
		return a.park(w, r, p.ignored(), qid, &st, meta, u, last)
	}
	d := a.newDelivery(meta, u)
	from, err := a.from(ctx, qid, &st, d, last)
	if err != nil {
		return err
	}
	pa := a.answers.get()
	defer a.answers.put(pa)
	if err := a.poll(r, pa, qid, st, d, from); err != nil {
		return err
	}
	pa.write(w, p.ignored())
	return nil
}

// registerAndPoll is a poll without a queue: one is registered with the
// request's register arguments, and polled at once.
func (a *API) registerAndPoll(w http.ResponseWriter, r *http.Request, u *user, p *params) error {
	qs, err := parseQueueSpec(p)
	if err != nil {
		return err
	}
	p.markUsed("last_event_id")
	qid, st, meta, err := a.createQueue(r.Context(), u, qs)
	if err != nil {
		return err
	}
	pa := a.answers.get()
	defer a.answers.put(pa)
	if err := a.poll(r, pa, qid, st, a.newDelivery(meta, u), mark{pos: st.Acked}); err != nil {
		return err
	}
	writeSuccess(w, p.withIgnored(map[string]any{"events": pa.events(), "queue_id": qid}))
	return nil
}

// from resolves a poll's last_event_id on queue st, and checks the queue
// is not over its cap.
func (a *API) from(ctx context.Context, qid string, st *cursor.State, d *delivery, last int64) (mark, error) {
	from, err := a.resolveLast(ctx, st, d, last)
	if err != nil {
		// A queue gone meanwhile is BAD_EVENT_QUEUE_ID whatever the id:
		// the client registers again instead of retrying.
		if _, gerr := a.core.Cursors.Get(ctx, st.ID); gerr != nil {
			err = gerr
		}
		return mark{}, a.queueErr(ctx, st.ID, qid, err)
	}
	if over, err := a.overCap(ctx, *st, from.pos); err != nil || over {
		if err == nil {
			err = a.expireOverCap(ctx, st.ID, qid)
		}
		return mark{}, a.queueErr(ctx, st.ID, qid, err)
	}
	return from, nil
}

// waiting is a parked poll: what its answer needs, its delivery
// included, in one allocation.
type waiting struct {
	a       *API
	d       delivery
	id, qid string
	from    mark
	fm      cursor.FollowMark
	sub     *hub.Sub
	done    context.Context
	ignored []string
	fail    func(http.ResponseWriter, error)
	checked bool // ready found the queue alive: the answer is its events
}

// park answers a poll that blocks from a wait off its handler
// (deliver.ServePoll): while it waits it holds no goroutine, and it checks
// its queue (Recheck, past the barrier the polls answering together
// share) only once it has something to answer — on the fan-out worker,
// with the round's other answers, where that needs no wait (ready). A
// newer poll of the queue, its deletion or an expire_queue rule ends the
// wait (polls).
func (a *API) park(w http.ResponseWriter, r *http.Request, ignored []string, qid string, st *cursor.State, meta *queueMeta, u *user, last int64) error {
	p := &waiting{a: a, id: st.ID, qid: qid, ignored: ignored}
	a.initDelivery(&p.d, meta, u)
	from, err := a.from(r.Context(), qid, st, &p.d, last)
	if err != nil {
		return err
	}
	done, end := a.polls.wait(st, qid)
	if err := a.expireFault(r.Context(), st, qid); err != nil {
		end()
		return err // checked once the poll is registered: expireWaiting sees those after
	}
	wait := a.heartbeatAfter()
	next, fm, err := a.core.Cursors.FollowPark(r.Context(), *st, cursor.FollowRequest{After: from.pos, Max: a.cfg.MaxBatch, Wait: wait})
	if err != nil {
		end()
		return a.queueErr(r.Context(), p.id, qid, err)
	}
	p.from, p.fm, p.done, p.fail = from, fm, done, a.guard.FailLater(r)
	p.sub = a.core.Hub.Subscribe(from.pos, next.Filter)
	a.core.Deliver.ServePoll(w, r, deliver.Poll{
		Transport: dialectName, Sub: p.sub, Max: a.cfg.MaxBatch, Wait: wait, Done: done, Release: end,
		Keep: p.keep, Answer: p.answer, Quick: true, Ready: p.ready,
	})
	return nil
}

// ready is the parked poll's deliver.Poll Ready: its answer is Quick
// when no newer poll or deletion ended it, it is within the queue's cap,
// and the queue is known to exist still without a wait (TryRecheck); then
// answer renders only. Else answer checks on a goroutine of its own.
func (p *waiting) ready(hevs []*hub.Event) bool {
	a := p.a
	if p.done.Err() != nil || a.core.Shutdown.Err() != nil || len(hevs) > a.cfg.MaxQueueEvents {
		return false
	}
	_, ok, err := a.core.Cursors.TryRecheck(p.id, p.fm)
	p.checked = ok && err == nil
	return p.checked
}

// keep is the parked poll's deliver.Poll Keep.
func (p *waiting) keep(e *hub.Event) bool { return p.d.keep(&e.Event) }

// answer is what a parked poll answers (its deliver.Poll Answer): nothing
// if a newer poll or a deletion ended it (BAD_EVENT_QUEUE_ID if the queue
// is gone), else, once the queue is known to exist still, its events, or
// a heartbeat whose id says how far the poll found none.
func (p *waiting) answer(w http.ResponseWriter, hevs []*hub.Event, rerr error) {
	a := p.a
	pa := a.answers.get()
	defer a.answers.put(pa)
	if err := p.events(pa, hevs, rerr); err != nil {
		p.fail(w, err)
		return
	}
	pa.write(w, p.ignored)
}

// events puts the parked poll's answer in pa.
func (p *waiting) events(pa *pollAnswer, hevs []*hub.Event, rerr error) error {
	a := p.a
	ctx := a.bg
	through := p.sub.Position()
	if !p.checked { // else ready checked all this
		switch {
		case p.done.Err() != nil:
			return a.released(ctx, p.done, p.id, p.qid)
		case rerr != nil:
			return a.queueErr(ctx, p.id, p.qid, rerr)
		case a.core.Shutdown.Err() != nil:
			return nil // no events: the client polls again, elsewhere
		}
		if _, err := a.core.Cursors.Recheck(ctx, p.id, p.fm, through); err != nil {
			return a.queueErr(ctx, p.id, p.qid, err)
		}
		if err := a.overBatch(ctx, p.id, p.qid, len(hevs)); err != nil {
			return err
		}
	}
	if len(hevs) == 0 {
		pa.heartbeat(heartbeatID(p.from, through))
		return nil
	}
	for _, e := range hevs {
		pa.evs = p.d.appendEvent(pa.evs, &e.Event)
	}
	a.eventsDelivered.Add(float64(len(pa.evs)))
	return nil
}

// overBatch drops a queue whose answer has more than its cap of events
// (a cap below the batch size, or events the hub's tail had not delivered
// when overCap looked).
func (a *API) overBatch(ctx context.Context, id, qid string, n int) error {
	if n > a.cfg.MaxQueueEvents {
		return a.queueErr(ctx, id, qid, a.expireOverCap(ctx, id, qid))
	}
	return nil
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
func (a *API) poll(r *http.Request, pa *pollAnswer, qid string, st cursor.State, d *delivery, from mark) error {
	sctx, scancel := a.core.Deliver.StreamContext(r)
	defer scancel()
	ctx, end := a.polls.begin(sctx, &st, qid)
	defer end()
	if err := a.expireFault(r.Context(), &st, qid); err != nil {
		return err // checked once the poll is registered: expireWaiting sees those after
	}
	f, err := a.core.Cursors.Follow(ctx, st, cursor.FollowRequest{After: from.pos, Max: a.cfg.MaxBatch, Keep: d.keep})
	if err != nil && ctx.Err() != nil {
		return a.released(r.Context(), ctx, st.ID, qid)
	}
	if err != nil {
		return a.queueErr(r.Context(), st.ID, qid, err)
	}
	if err := a.overBatch(r.Context(), st.ID, qid, len(f.Events)); err != nil {
		return err
	}
	for i := range f.Events {
		pa.evs = d.appendEvent(pa.evs, &f.Events[i])
	}
	a.eventsDelivered.Add(float64(len(pa.evs)))
	return nil
}

// released is the answer of a poll a newer poll, a DELETE, an
// expire_queue rule or a shutdown finished (done's cause): no events now
// (the client polls again), unless the queue is gone.
func (a *API) released(ctx, done context.Context, id, qid string) error {
	if errors.Is(context.Cause(done), errFaultExpired) {
		return a.expired(ctx, id, qid)
	}
	if errors.Is(context.Cause(done), errReleased) {
		if _, gerr := a.core.Cursors.Get(ctx, id); errors.Is(gerr, cursor.ErrNotFound) {
			return badQueue(qid)
		}
	}
	return nil
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
