package cursor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// A followed cursor is one whose consumer states its position on every
// poll (Zulip's last_event_id): the engine keeps what the consumer cannot
// state — that the cursor exists, its filter, meta and idle expiry, and
// its start position (Acked, which Follow never moves) — and nothing a
// poll changes. A poll therefore writes nothing, except to keep the cursor
// alive: LastActive is stored again only once it is older than
// IdleTTL/followRefresh, or when the cursor would idle out before the
// poll's wait ends. A followed cursor so idles out between
// (followRefresh-1)/followRefresh of its IdleTTL and all of it after its
// last poll (FollowTTL gives the IdleTTL for an idle time that must pass
// in full). Since nothing else changes it, a poll may start from the
// cursor as this store last saw it (Known), with no round trip; before it
// answers, every poll learns whether it was deleted, or idled out,
// meanwhile on any node: from this store's watch of the followed cursors
// past a barrier the polls answering together share (WatchFollowed), or
// without a live watch by reading it.

// followRefresh is the fraction of its IdleTTL after which a followed
// cursor's LastActive is stored again.
const followRefresh = 5

// FollowTTL returns the IdleTTL of a followed cursor that must stay alive
// for idle after its last poll.
func FollowTTL(idle time.Duration) time.Duration {
	return idle + idle/(followRefresh-1)
}

// FollowRequest is one poll of a followed cursor.
type FollowRequest struct {
	// After is the consumer's position: the answer starts after it. It is
	// at or after the cursor's start; the caller checked it is no further
	// than the log's end.
	After uint64
	// Max bounds the events answered (at least 1).
	Max int
	// Wait is how long to wait for an event when none is ready.
	Wait time.Duration
	// Keep, as in PollRequest, picks the events the consumer receives out
	// of those the filter matches; the others are passed over. It must
	// give the same answer every time for the same event.
	Keep func(*eventlog.Event) bool
}

// Followed is a Follow's answer.
type Followed struct {
	// Events are the kept events after the position, oldest first.
	Events []eventlog.Event
	// Through is the position the poll covered: every event up to it
	// that the consumer receives is in Events (or before After). With
	// events, it is the last one's Seq.
	Through uint64
	// State is the cursor as last read or stored.
	State State
}

// Follow answers a poll of the followed cursor st (from Get or Known) from
// the position req.After: the kept events after it, up to req.Max, at once
// if there are any or req.Wait is zero, else when one arrives or req.Wait
// has passed (then with none). A poll without a wait also reads what the
// log holds past this node's tail (a consumer reads its own writes); one
// with a wait takes its events from the hub as they arrive. Before it
// answers it checks the cursor (see recheck): ErrNotFound if it is gone.
func (s *Store) Follow(ctx context.Context, st State, req FollowRequest) (Followed, error) {
	if req.Max <= 0 {
		req.Max = 1
	}
	id := st.ID
	if req.After < st.Acked {
		return Followed{}, fmt.Errorf("%w: cursor %s: position %d is before its start %d", ErrInvalid, id, req.After, st.Acked)
	}
	// The barrier at the end takes a Revision call that starts after now.
	v := s.views.find(id)
	var since uint64
	if v != nil {
		since = v.revisions.since()
	}
	st, err := s.keepAlive(ctx, st, req.Wait)
	if err != nil {
		return Followed{}, s.lost(id, err)
	}
	f := follow{s: s, st: &st, req: req}
	var (
		evs     []eventlog.Event
		through uint64
	)
	if live, ok := s.wait.(liveWaiter); ok && req.Wait > 0 {
		evs, through, err = f.live(ctx, live)
	} else {
		evs, through, err = f.plain(ctx)
	}
	if err != nil {
		return Followed{}, err
	}
	// Deleted or idled out on any node since st was read, or while the
	// poll waited: the engine knows, and so does a live watch of it.
	if st, err = s.recheck(ctx, id, v, since, through); err != nil {
		return Followed{}, s.lost(id, err)
	}
	return Followed{Events: evs, Through: through, State: st}, nil
}

// lost forgets the cursor id if err says it is gone, and returns err.
func (s *Store) lost(id string, err error) error {
	if errors.Is(err, ErrNotFound) {
		s.known.forget(id)
	}
	return err
}

// follow is one Follow in progress.
type follow struct {
	s   *Store
	st  *State
	req FollowRequest
}

// keep returns the events of evs the consumer receives, and the position
// they cover: the last kept event's, or with none kept, through. evs is
// the caller's own (a copy of the hub's or the log's answer): it is
// filtered in place.
func (f *follow) keep(evs []eventlog.Event, through uint64) ([]eventlog.Event, uint64) {
	if f.req.Keep != nil {
		kept := evs[:0]
		for i := range evs {
			if f.req.Keep(&evs[i]) {
				kept = append(kept, evs[i])
			}
		}
		evs = kept
	}
	if len(evs) > 0 {
		return evs, evs[len(evs)-1].Seq
	}
	return nil, through
}

// read reads what is ready after `after`, from the hub's window and the
// log, until it finds kept events or has scanned to the end.
func (f *follow) read(ctx context.Context, after uint64) ([]eventlog.Event, uint64, error) {
	for {
		evs, next, err := f.s.log.Read(ctx, after, f.st.Filter, f.req.Max)
		if err != nil {
			return nil, after, fmt.Errorf("cursor %s: %w", f.st.ID, err)
		}
		n := len(evs)
		var kept []eventlog.Event
		if kept, after = f.keep(evs, max(after, next)); len(kept) > 0 || n < f.req.Max {
			return kept, after, nil
		}
	}
}

// plain reads, and over a Waiter that is not the hub waits and reads
// again when woken.
func (f *follow) plain(ctx context.Context) (evs []eventlog.Event, through uint64, err error) {
	deadline := time.Now().Add(f.req.Wait)
	through = f.req.After
	for {
		if evs, through, err = f.read(ctx, through); err != nil || len(evs) > 0 {
			return evs, through, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, through, nil
		}
		wctx, cancel := context.WithTimeout(ctx, left)
		err := f.s.wait.Wait(wctx, through, f.st.Filter)
		cancel()
		switch {
		case err == nil:
		case ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded):
			return nil, through, waitErr(ctx, f.st.ID, err)
		default:
			return nil, through, nil // the wait passed
		}
	}
}

// live answers from a hub subscription: what the window holds at once,
// else what arrives within the wait, with no engine round trip while the
// position is in the window. Events published but not yet tailed arrive
// with the tail.
func (f *follow) live(ctx context.Context, live liveWaiter) (evs []eventlog.Event, through uint64, err error) {
	sub := live.Subscribe(f.req.After, f.st.Filter)
	defer sub.Close()
	deadline := time.Now().Add(f.req.Wait)
	through = f.req.After
	for {
		hevs, err := sub.NextWithin(ctx, f.req.Max, time.Until(deadline))
		if err != nil {
			return nil, through, waitErr(ctx, f.st.ID, err)
		}
		if evs, through = f.keep(events(hevs), sub.Position()); len(evs) > 0 || len(hevs) == 0 {
			return evs, through, nil // kept events, or the wait passed
		}
	}
}

// keepAlive stores st's LastActive again if it is due (see followRefresh),
// or if the cursor would idle out before a wait of wait ends; a cursor
// another node refreshed meanwhile is taken as it is, if that is enough.
func (s *Store) keepAlive(ctx context.Context, st State, wait time.Duration) (State, error) {
	for attempt := 0; ; attempt++ {
		now := s.cfg.Now()
		if st.IdleTTL <= 0 || (now.Sub(st.LastActive) < st.IdleTTL/followRefresh &&
			st.ExpiresAt().After(now.Add(wait+keepAliveMargin))) {
			return st, nil
		}
		next := st.clone()
		next.LastActive = now
		b, err := encode(&next)
		if err != nil {
			return State{}, err
		}
		rev, err := s.kv.Update(ctx, st.ID, b, st.rev)
		if err == nil {
			next.rev = rev
			return next, nil
		}
		if !errors.Is(err, eventlog.ErrConflict) || attempt == maxRaces {
			return State{}, fmt.Errorf("cursor %s: %w", st.ID, err)
		}
		// Refreshed, or deleted, on another node: Get tells which.
		if st, err = s.Get(ctx, st.ID); err != nil {
			return State{}, err
		}
	}
}

// events returns the log's events of hub events.
func events(hevs []*hub.Event) []eventlog.Event {
	evs := make([]eventlog.Event, len(hevs))
	for i, e := range hevs {
		evs[i] = e.Event
	}
	return evs
}

// FollowPark prepares a poll of the followed cursor st that waits for its
// events elsewhere (a parked poll, deliver.ServePoll, on a hub
// subscription from req.After with st's filter): it checks the position
// and keeps the cursor alive for the wait, as Follow does before it
// waits, and returns where the poll's barrier starts. The poll then calls
// Recheck with it before it answers.
func (s *Store) FollowPark(ctx context.Context, st State, req FollowRequest) (State, FollowMark, error) {
	if req.After < st.Acked {
		return State{}, FollowMark{}, fmt.Errorf("%w: cursor %s: position %d is before its start %d", ErrInvalid, st.ID, req.After, st.Acked)
	}
	var m FollowMark
	if m.v = s.views.find(st.ID); m.v != nil {
		m.since = m.v.revisions.since()
	}
	next, err := s.keepAlive(ctx, st, req.Wait)
	if err != nil {
		return State{}, FollowMark{}, s.lost(st.ID, err)
	}
	return next, m, nil
}

// TryRecheck is Recheck where it needs no wait, for an answer made where
// nothing may block (a fan-out worker): ok is false where Recheck would
// have to ask the engine or wait for the watch (a bucket that does not
// know its last write, a watch that has not delivered it yet, a cursor
// the watch's entry cannot vouch for, or idled out as known), and the
// caller calls Recheck instead. It is the same check: the bucket's last
// write under the prefix, read now, is one acknowledged after the poll
// arrived and after its events were stored.
func (s *Store) TryRecheck(id string, m FollowMark) (st State, ok bool, err error) {
	if m.v == nil {
		return State{}, false, nil
	}
	epoch, ok := m.v.barrierNow()
	if !ok {
		return State{}, false, nil
	}
	if st, ok, err = s.viewed(id, epoch); !ok {
		return State{}, false, nil
	}
	return st, true, s.lost(id, err)
}

// A FollowMark is where a parked poll's barrier starts (FollowPark).
type FollowMark struct {
	v     *view
	since uint64
}

// Recheck is a followed cursor's last step before a parked poll answers
// up to through, as in Follow: ErrNotFound if it was deleted, or idled
// out, on any node since it was read or while the poll waited.
func (s *Store) Recheck(ctx context.Context, id string, m FollowMark, through uint64) (State, error) {
	st, err := s.recheck(ctx, id, m.v, m.since, through)
	if err != nil {
		return State{}, s.lost(id, err)
	}
	return st, nil
}
