package zulip

import (
	"context"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/cursor"
)

// polls tracks the poll in flight on each queue on this node: like Zulip,
// a queue has one waiter, and a new poll finishes the previous one (which
// answers with no events) instead of both waiting.
//
// A queue's slot outlives its blocking polls: one that is over leaves the
// slot, its context live, to the queue's next poll, so that a client
// polling once after another costs no context, slot or closure per poll.
// A slot's context ends only to end its poll (the slot is then replaced):
// a blocking poll's Done hook (deliver's AfterFunc) is stopped once the
// poll is over, and one that fires late wakes a poll that is over, which
// does nothing. Slots idle for slotIdle are forgotten as polls come.
type polls struct {
	mu    sync.Mutex
	m     map[string]*pollSlot
	begun int // polls begun since the last sweep
	now   func() time.Time
}

type pollSlot struct {
	p      *polls
	id     string
	ctx    context.Context
	cancel context.CancelCauseFunc
	end    func() // over, made once
	// The queue's owner, id and registration, for expire_queue rules.
	owner, qid string
	created    time.Time
	busy       bool      // a poll is in flight
	gone       bool      // no longer the queue's slot
	reusable   bool      // ctx is the slot's own, not a request's
	idle       time.Time // when its last poll was over
}

// Idle slots are forgotten once idle for slotIdle, looked for every
// sweepEvery polls (a client polls again within milliseconds).
const (
	slotIdle   = time.Minute
	sweepEvery = 1 << 10
)

func newPolls() *polls { return &polls{m: map[string]*pollSlot{}, now: time.Now} }

// wait registers a blocking poll on the queue of cursor st, releasing the
// previous one; ctx ends when a newer poll, a deletion or an expire_queue
// rule ends this one, and end unregisters it.
func (p *polls) wait(st *cursor.State, qid string) (ctx context.Context, end func()) {
	s := p.enter(nil, st, qid)
	return s.ctx, s.end
}

// begin registers a poll that does not block, whose ctx derives from
// parent (its request's).
func (p *polls) begin(parent context.Context, st *cursor.State, qid string) (ctx context.Context, end func()) {
	s := p.enter(parent, st, qid)
	return s.ctx, s.end
}

// enter makes the slot of the queue of st busy with a new poll: the
// queue's idle slot, for a blocking poll (parent nil), or a new one.
func (p *polls) enter(parent context.Context, st *cursor.State, qid string) *pollSlot {
	id := st.ID
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.begun++; p.begun >= sweepEvery {
		p.sweepLocked()
	}
	s := p.m[id]
	switch {
	case s == nil:
	case s.busy:
		s.cancel(errReleased) // the newer poll takes over
		s.gone, s = true, nil
	case parent != nil || !s.reusable:
		s.gone, s = true, nil
	}
	if s == nil {
		s = &pollSlot{p: p, id: id, reusable: parent == nil}
		if parent == nil {
			parent = context.Background()
		}
		s.ctx, s.cancel = context.WithCancelCause(parent)
		s.end = s.over
		p.m[id] = s
	}
	s.busy, s.owner, s.qid, s.created = true, st.Owner, qid, st.Created
	return s
}

// over ends the slot's poll: a blocking poll's slot stays for the queue's
// next poll, another's goes.
func (s *pollSlot) over() {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.gone || !s.busy {
		return // released meanwhile
	}
	s.busy = false
	if s.reusable {
		s.idle = p.now()
		return
	}
	delete(p.m, s.id)
	s.gone = true
	s.cancel(nil) // detached from its request's context
}

// sweepLocked forgets the slots idle for slotIdle.
func (p *polls) sweepLocked() {
	p.begun = 0
	cutoff := p.now().Add(-slotIdle)
	for id, s := range p.m {
		if !s.busy && s.idle.Before(cutoff) {
			delete(p.m, id)
			s.gone = true
		}
	}
}

// release finishes the poll on queue id, if any, and forgets its slot.
func (p *polls) release(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.m[id]; s != nil {
		delete(p.m, id)
		s.gone = true
		if s.busy {
			s.cancel(errReleased)
		}
	}
}

// expire finishes the polls in flight on the queues expired(owner, qid,
// created) says, with cause, and forgets their slots.
func (p *polls) expire(expired func(owner, qid string, created time.Time) bool, cause error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, s := range p.m {
		if s.busy && expired(s.owner, s.qid, s.created) {
			delete(p.m, id)
			s.gone = true
			s.cancel(cause)
		}
	}
}

// polling reports whether a poll of the queue of cursor id is in flight.
func (p *polls) polling(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.m[id]
	return s != nil && s.busy
}

// inFlight counts the polls in flight.
func (p *polls) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, s := range p.m {
		if s.busy {
			n++
		}
	}
	return n
}
