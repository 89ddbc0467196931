package cursor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/topic"
)

// PollRequest is what one Poll does besides fetching.
type PollRequest struct {
	// Max bounds the events of a new batch (at least 1).
	Max int
	// Wait is how long to wait for an event when none is pending.
	Wait time.Duration
	// Change, if set, is applied to the state before anything else (an
	// acknowledgement, say) and stored in the same write as the poll's own
	// update. When the cursor changed meanwhile it is applied again to the
	// fresh state, so it must decide from the state it is given; its error
	// ends the poll. A pending batch it drops without moving the position
	// is formed again, and keeps its id if it holds the same events (a
	// consumer that asks for another batch size, say).
	Change func(*State) error
	// Keep, if set, picks the events the consumer delivers out of those the
	// filter matches (a Zulip user's visibility). The others are passed over
	// like events outside the filter: a batch never ends with one, and with
	// no event kept the position moves past them. It must give the same
	// answer every time for the same event.
	Keep func(*eventlog.Event) bool
	// Timeout, if set, is applied to the state, and stored, when a poll
	// with a Wait ends without a batch (a Zulip heartbeat takes an id).
	Timeout func(*State) error
	// Waited says the consumer waited for events elsewhere (a parked
	// poll's hub subscription, see deliver.ServePoll) before this poll,
	// which then does not wait: one that finds nothing stores, as a poll
	// with a Wait does, that the cursor was active, with req.Timeout's
	// change.
	Waited bool
	// Brought, if set, is what such a wait elsewhere brought. A poll that
	// forms a new batch at its position and with its filter forms it of
	// them, as a poll that waits itself forms it of what its wait hands
	// over, with no read: hub.Read would also ask the engine for the log's
	// end (one call shared by a burst of woken polls, each waiting for
	// it), so events acknowledged to publishers that this node's tail has
	// not delivered yet come in the next batch instead.
	Brought *Brought
	// Tidy, if set, is applied to the state each time the poll stores it,
	// last: after the poll moved the position, a consumer forgets what of
	// its own data the position has passed. It must only tidy: a poll that
	// would store nothing else stores nothing for it.
	Tidy func(*State)
}

// Brought is what a wait on a hub subscription brought (a parked poll's,
// deliver.ServePoll): the events it delivered first, every event after
// After that Filter matches up to the last of them.
type Brought struct {
	After  uint64
	Filter topic.Filter
	Events []*hub.Event
}

// Fetch returns the pending batch: the oldest unacknowledged events, up to
// max, under a batch id. The batch stays the same, and is handed out again,
// until it is acknowledged. With no pending event it waits up to wait for
// one; then it returns an empty batch (BatchID "").
func (s *Store) Fetch(ctx context.Context, id string, max int, wait time.Duration) (Fetched, error) {
	st, err := s.Get(ctx, id)
	if err != nil {
		return Fetched{}, err
	}
	return s.Poll(ctx, st, PollRequest{Max: max, Wait: wait})
}

// Poll is Fetch for a caller that already holds the cursor's state st
// (from Get, or a previous Poll): it starts from st instead of reading it
// again, and stores everything the poll changes — req.Change, the new
// pending batch or the position scanned to, LastActive — with one
// compare-and-set on st's revision when it ends. A poll without a wait
// that finds nothing and changes nothing writes nothing; one that waited
// and found nothing stores that it was active (and req.Timeout's change).
// If the cursor changed in between (another poll, another node), Poll
// reads it again and goes on from the fresh state, so no update is ever
// lost.
//
// While it waits, nothing is written unless the cursor would idle out
// before the wait ends: then the state is stored first, so that no node's
// sweep takes a cursor that a poll is waiting on; and req.Change's change
// is stored with the batch the poll waits for only if one comes within
// changeHold, else on its own then, and the wait goes on. When ctx ends the wait,
// a change req.Change made is stored before Poll returns (on a context of
// its own), so an acknowledgement counts even if its poll was cut short.
func (s *Store) Poll(ctx context.Context, st State, req PollRequest) (Fetched, error) {
	if req.Max <= 0 {
		req.Max = 1
	}
	p := &poll{s: s, req: req}
	err := p.reset(st)
	if err != nil {
		err = p.confirm(ctx, err)
	}
	if err != nil && !errors.Is(err, errRaced) {
		return Fetched{}, err
	}
	deadline := time.Now().Add(req.Wait) // real time: the wait is real, whatever the clock
	for {
		f, err := p.step(ctx, deadline)
		if err != nil && !errors.Is(err, errRaced) && !errors.Is(err, errAgain) {
			err = p.confirm(ctx, err)
		}
		switch {
		case errors.Is(err, errRaced), errors.Is(err, errAgain):
			continue
		case err != nil:
			return p.fail(ctx, err)
		}
		return f, nil
	}
}

// step is one round of a Poll: it answers, fails, or asks for another
// round (errRaced, errAgain). Its answer's State is cur, which the poll
// owns and which it ends with: no copy.
func (p *poll) step(ctx context.Context, deadline time.Time) (Fetched, error) {
	s, req := p.s, p.req
	if s.expired(&p.stored) {
		// It idled out while this poll waited (Get let it through).
		if err := p.expire(ctx); !errors.Is(err, errRaced) {
			return Fetched{}, err
		}
		return Fetched{}, errRaced
	}
	if p.cur.Batch != nil {
		evs, err := p.batchEvents(ctx)
		if err != nil {
			return Fetched{}, err
		}
		if err := p.commit(ctx); err != nil {
			return Fetched{}, err
		}
		return Fetched{BatchID: p.cur.Batch.ID, Events: evs, State: p.cur}, nil
	}
	covered, kept, ok := p.recall("")
	var err error
	switch left := time.Until(deadline); {
	case ok:
		// Lost a race that left the position as it was: the same events.
	case left > 0:
		covered, kept, err = p.wait(ctx, left)
	default:
		if covered, kept, ok = p.brought(); !ok {
			covered, kept, err = p.read(ctx)
		}
	}
	switch {
	case err != nil:
		return Fetched{}, err
	case s.expired(&p.stored):
		return Fetched{}, errAgain // checked at the top, before anything is written
	case len(covered) == 0 && time.Until(deadline) > 0:
		return Fetched{}, errAgain // woken for nothing to deliver: wait on
	case len(covered) == 0:
		waited := req.Wait > 0 || req.Waited
		if waited && req.Timeout != nil {
			if err := req.Timeout(&p.cur); err != nil {
				return Fetched{}, err
			}
		}
		if waited || p.dirty() {
			if err := p.commit(ctx); err != nil {
				return Fetched{}, err
			}
		} else if err := p.confirm(ctx, nil); err != nil {
			return Fetched{}, err // an answer without a write: from the cursor as stored
		}
		return Fetched{State: p.cur}, nil
	}
	p.remember("", covered, kept)
	p.cur.Batch = p.newBatch(covered)
	if err := p.commit(ctx); err != nil {
		return Fetched{}, err // raced: another poll may have made a batch first, hand out that one
	}
	return Fetched{BatchID: p.cur.Batch.ID, Events: kept, State: p.cur}, nil
}

// Bounds of a Poll.
const (
	// maxRaces bounds how often one poll starts over because the cursor
	// changed under it. Every race lost is another poll's progress (four
	// consumers acking one cursor as fast as they can make a poll lose
	// some 30 in a row), so the bound only stops a poll starved by a flood.
	maxRaces = 200
	// keepAliveMargin is the time a poll leaves itself, after its wait, to
	// store its answer before the cursor would idle out.
	keepAliveMargin = 5 * time.Second
	// flushTimeout bounds storing the change of a poll that was cut short.
	flushTimeout = 5 * time.Second
	// changeHold is how long a waiting poll keeps a change of req.Change
	// (an acknowledgement) to store it with the batch it waits for. Past
	// it the change is stored on its own: other consumers of the cursor,
	// and whoever looks at its position, see it.
	changeHold = time.Second
)

// A poll's signals to go round again: errRaced from the cursor as it now
// is, errAgain from where it was.
var (
	errRaced = errors.New("raced")
	errAgain = errors.New("again")
)

// liveWaiter is a Waiter that also hands out live subscriptions (the hub):
// a waiting poll then takes the events it was woken for from the
// subscription, with no read of its own.
type liveWaiter interface {
	Subscribe(after uint64, f topic.Filter) *hub.Sub
}

// poll is one Poll in progress.
type poll struct {
	s      *Store
	req    PollRequest
	stored State // the cursor as last read or written: what compare-and-set expects
	cur    State // stored plus this poll's changes, not yet written
	// changed is set while cur holds a change of req.Change not yet stored.
	changed bool
	races   int
	memo    memo
	// buf holds the state a commit writes (a KV copies what it stores):
	// in the poll's own allocation, a state needs none of its own.
	buf [512]byte
}

// memo is the last batch's events a poll read, kept so that after losing
// a race that left the position and filter as they were it goes straight
// back to compare-and-set, as update does, instead of reading again.
type memo struct {
	ok      bool
	acked   uint64
	filter  string
	batch   string // the pending batch they are of; "" for a new batch's
	covered []eventlog.Event
	kept    []eventlog.Event
}

func (p *poll) remember(batch string, covered, kept []eventlog.Event) {
	p.memo = memo{ok: true, acked: p.cur.Acked, filter: p.cur.Filter.String(), batch: batch, covered: covered, kept: kept}
}

// recall returns the remembered events if they are still those of batch.
func (p *poll) recall(batch string) (covered, kept []eventlog.Event, ok bool) {
	m := &p.memo
	if !m.ok || m.batch != batch || m.acked != p.cur.Acked || m.filter != p.cur.Filter.String() {
		return nil, nil, false
	}
	return m.covered, m.kept, true
}

// reset starts over from st, the cursor as stored, and applies req.Change.
func (p *poll) reset(st State) error {
	p.stored, p.cur, p.changed = st, st.clone(), false
	if p.req.Change == nil {
		return nil
	}
	if err := p.req.Change(&p.cur); err != nil {
		return err
	}
	p.changed = p.dirty()
	return nil
}

// dirty reports whether cur differs from the stored state.
func (p *poll) dirty() bool { return !p.stored.equal(&p.cur) }

// equal reports whether st and o would be stored alike: every field that
// is stored, compared by value (times as instants).
func (st *State) equal(o *State) bool {
	return st.ID == o.ID && slices.Equal(st.Filter, o.Filter) && st.Acked == o.Acked &&
		st.Batch.equal(o.Batch) && st.AckedBatch == o.AckedBatch && st.Owner == o.Owner && bytes.Equal(st.Meta, o.Meta) &&
		st.IdleTTL == o.IdleTTL && st.Created.Equal(o.Created) && st.LastActive.Equal(o.LastActive)
}

func (b *Batch) equal(o *Batch) bool {
	if b == nil || o == nil {
		return b == o
	}
	return b.ID == o.ID && b.Through == o.Through && b.Count == o.Count && b.Created.Equal(o.Created)
}

// reload reads the cursor again after a compare-and-set lost to cause, and
// returns errRaced: the caller goes on from the fresh state.
func (p *poll) reload(ctx context.Context, cause error) error {
	if p.races++; p.races > maxRaces {
		return fmt.Errorf("cursor %s: %w", p.cur.ID, cause)
	}
	st, err := p.s.Get(ctx, p.cur.ID)
	if err != nil {
		return err
	}
	if err := p.reset(st); err != nil {
		return err
	}
	return errRaced
}

// confirm is given the error (or nil: the answer without a write) that
// ends a poll started from a state that Recent remembered and that the
// poll has neither read nor stored since: that state may be what it came
// from. It reads the cursor: if it is as remembered, err stands; else the
// poll goes on from the fresh state (errRaced).
func (p *poll) confirm(ctx context.Context, err error) error {
	if !p.stored.stale || ctx.Err() != nil || errors.Is(err, ErrNotFound) {
		return err
	}
	st, gerr := p.s.Get(ctx, p.cur.ID)
	if gerr != nil {
		return gerr
	}
	if st.rev == p.stored.rev {
		p.stored.stale, p.cur.stale = false, false
		return err
	}
	if err := p.reset(st); err != nil {
		return err
	}
	return errRaced
}

// commit stores cur, active now, if the cursor is still as stored; if it
// is not, it reloads and returns errRaced. A cursor that idled out as
// stored is deleted instead, never revived by the poll's write.
func (p *poll) commit(ctx context.Context) error {
	if p.s.expired(&p.stored) {
		return p.expire(ctx)
	}
	p.cur.LastActive = p.s.cfg.Now()
	if p.req.Tidy != nil {
		p.req.Tidy(&p.cur)
	}
	b, err := appendState(p.buf[:0], &p.cur)
	if err != nil {
		return err
	}
	rev, err := p.s.kv.Update(ctx, p.cur.ID, b, p.stored.rev)
	switch {
	case err == nil:
		p.cur.rev, p.cur.stale = rev, false
		p.stored, p.changed = p.cur.clone(), false
		p.s.recent.refresh(p.stored)
		return nil
	case errors.Is(err, eventlog.ErrConflict):
		// Changed or deleted meanwhile: the reload tells which.
		return p.reload(ctx, err)
	}
	return fmt.Errorf("cursor %s: %w", p.cur.ID, err)
}

// expire deletes the cursor, idle past its TTL as stored, unless it was
// used meanwhile (then the delete loses and the poll goes on: errRaced).
func (p *poll) expire(ctx context.Context) error {
	err := p.s.kv.Delete(ctx, p.cur.ID, p.stored.rev)
	switch {
	case err == nil:
		return fmt.Errorf("cursor %s: idle since %s: %w", p.cur.ID, p.stored.LastActive.Format(time.RFC3339), ErrNotFound)
	case errors.Is(err, eventlog.ErrConflict):
		return p.reload(ctx, err)
	}
	return fmt.Errorf("cursor %s: %w", p.cur.ID, err)
}

// fail ends the poll with err. A change of req.Change not yet stored is
// stored first, on a context of its own: ctx may be what ended the poll.
// (With it goes whatever else cur holds, a new batch say: a batch nobody
// received is handed out again, like any unacknowledged one.)
func (p *poll) fail(ctx context.Context, err error) (Fetched, error) {
	if p.changed && !errors.Is(err, ErrNotFound) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
		defer cancel()
		ferr := p.commit(fctx)
		for errors.Is(ferr, errRaced) && p.changed {
			ferr = p.commit(fctx)
		}
		if ferr != nil && !errors.Is(ferr, errRaced) && !errors.Is(ferr, ErrNotFound) {
			p.s.cfg.Logger.Warn("cursor: storing a cut-short poll's change", "cursor", p.cur.ID, "err", ferr)
		}
	}
	return Fetched{}, err
}

// newBatch returns the batch of the covered events: the one stored, if
// req.Change dropped it and it covers the same events again; else a new one.
func (p *poll) newBatch(covered []eventlog.Event) *Batch {
	last := covered[len(covered)-1].Seq
	if old := p.stored.Batch; old != nil && old.Through == last && old.Count == len(covered) &&
		p.stored.Acked == p.cur.Acked && p.stored.Filter.String() == p.cur.Filter.String() {
		b := *old
		return &b
	}
	return &Batch{ID: uuid.NewString(), Through: last, Count: len(covered), Created: p.s.cfg.Now()}
}

// split returns the prefix of evs a batch covers (up to the last event
// req.Keep keeps) and the kept events in it.
func (p *poll) split(evs []eventlog.Event) (covered, kept []eventlog.Event) {
	if p.req.Keep == nil {
		return evs, evs
	}
	n := 0
	for i := range evs {
		if p.req.Keep(&evs[i]) {
			kept = append(kept, evs[i])
			n = i + 1
		}
	}
	return evs[:n], kept
}

// brought returns the events of req.Brought, up to req.Max, if they are
// what a read would start with: the subscription started at cur's
// position, with its filter (else the cursor changed since the wait
// began). ok is false if they are not, or none is kept.
func (p *poll) brought() (covered, kept []eventlog.Event, ok bool) {
	b := p.req.Brought
	if b == nil || len(b.Events) == 0 || b.After != p.cur.Acked || !slices.Equal(b.Filter, p.cur.Filter) {
		return nil, nil, false
	}
	covered, kept = p.split(events(b.Events[:min(len(b.Events), p.req.Max)]))
	return covered, kept, len(covered) > 0
}

// read reads what is pending after cur's position without waiting; with
// nothing to deliver it moves the position (in cur) to where it scanned.
func (p *poll) read(ctx context.Context) (covered, kept []eventlog.Event, err error) {
	for {
		evs, next, err := p.s.log.Read(ctx, p.cur.Acked, p.cur.Filter, p.req.Max)
		if err != nil {
			return nil, nil, fmt.Errorf("cursor %s: %w", p.cur.ID, err)
		}
		if covered, kept = p.split(evs); len(covered) > 0 {
			return covered, kept, nil
		}
		p.cur.Acked = max(p.cur.Acked, next)
		if len(evs) < p.req.Max {
			return nil, nil, nil // scanned to the end
		}
	}
}

// wait returns what is pending after cur's position as read does, at
// once if anything is; else it waits up to left for events, and returns
// nothing when left passed.
func (p *poll) wait(ctx context.Context, left time.Duration) (covered, kept []eventlog.Event, err error) {
	live, isLive := p.s.wait.(liveWaiter)
	if !isLive {
		// What is stored already is read as a poll without a wait reads it,
		// with what the hub's tail has not delivered yet (read your writes).
		if covered, kept, err = p.read(ctx); err != nil || len(covered) > 0 {
			return covered, kept, err
		}
	}
	// A waiting poll writes nothing, unless the cursor would idle out first.
	if exp := p.stored.ExpiresAt(); !exp.IsZero() && exp.Before(p.s.cfg.Now().Add(left+keepAliveMargin)) {
		if err := p.commit(ctx); err != nil {
			return nil, nil, err
		}
	}
	// Nor does it hold a change of its own for long: past changeHold it
	// stores it and waits on (a new round of the poll).
	held := p.changed && left > p.s.hold
	if held {
		left = p.s.hold
	}
	if !isLive {
		wctx, cancel := context.WithTimeout(ctx, left)
		err := p.s.wait.Wait(wctx, p.cur.Acked, p.cur.Filter)
		cancel()
		switch {
		case err == nil:
			return p.read(ctx) // woken
		case ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded):
			return nil, nil, waitErr(ctx, p.cur.ID, err)
		}
		return nil, nil, p.release(ctx, held) // left passed
	}
	// The subscription answers with what the window holds at once (from
	// the log only when the position is behind it), else hands over the
	// events it woke for: the poll makes no engine round trip before its
	// one write. Events acknowledged to publishers that the tail has not
	// delivered yet arrive with the tail, within the wait, as a blocking
	// poll waits for them anyway.
	sub := live.Subscribe(p.cur.Acked, p.cur.Filter)
	defer sub.Close()
	deadline := time.Now().Add(left)
	for {
		hevs, err := sub.NextWithin(ctx, p.req.Max, time.Until(deadline))
		if err != nil {
			return nil, nil, waitErr(ctx, p.cur.ID, err)
		}
		if covered, kept = p.split(events(hevs)); len(covered) > 0 {
			return covered, kept, nil
		}
		p.cur.Acked = max(p.cur.Acked, sub.Position())
		if len(hevs) == 0 {
			return nil, nil, p.release(ctx, held) // left passed
		}
	}
}

// release stores the change a wait held, if held, once it has held it
// for as long as it may (changeHold).
func (p *poll) release(ctx context.Context, held bool) error {
	if !held {
		return nil
	}
	return p.commit(ctx)
}

// waitErr is a wait's error: ctx's own when ctx ended it.
func waitErr(ctx context.Context, id string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("cursor %s: %w", id, err)
}

// batchEvents re-reads the pending batch's events: its Count events after
// the position, up to Through, those req.Keep keeps.
func (p *poll) batchEvents(ctx context.Context) ([]eventlog.Event, error) {
	b := p.cur.Batch
	if _, kept, ok := p.recall(b.ID); ok {
		return kept, nil
	}
	evs, _, err := p.s.log.Read(ctx, p.cur.Acked, p.cur.Filter, b.Count)
	if err != nil {
		return nil, fmt.Errorf("cursor %s: %w", p.cur.ID, err)
	}
	n := 0
	for n < len(evs) && evs[n].Seq <= b.Through {
		n++
	}
	covered, kept := p.split(evs[:n])
	p.remember(b.ID, covered, kept)
	return kept, nil
}

// clone returns a copy of st that shares nothing a change may modify.
// Preview returns st as change would leave it (nil: as it is), without
// storing anything: where a poll that applies change would start, for a
// caller that waits before polling.
func Preview(st State, change func(*State) error) (State, error) {
	next := st.clone()
	if change == nil {
		return next, nil
	}
	if err := change(&next); err != nil {
		return State{}, err
	}
	return next, nil
}

// clone returns a copy of st that a change may be applied to without
// touching st: its own Batch. Filter and Meta are shared: no one changes
// them in place (a change replaces them; decode starts from a fresh
// State), so a poll's copies of the state allocate only its Batch.
func (st State) clone() State {
	if st.Batch != nil {
		b := *st.Batch
		st.Batch = &b
	}
	return st
}
