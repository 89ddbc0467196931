package zulip

import (
	"context"
	"errors"

	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/eventlog"
)

// Event ids. Zulip numbers a queue's events, heartbeats included, with one
// strictly increasing counter, and a poll's last_event_id acknowledges
// everything up to an id. herald stores neither the ids nor the position:
// an id is a log position, and the client's last_event_id is where its
// next poll starts. Each position owns idStep ids:
//
//	the event with sequence seq          id = seq·idStep
//	a heartbeat at position pos, the k-th  id = pos·idStep + k  (1 ≤ k < idStep)
//
// A heartbeat is sent when a poll covered the log up to pos with nothing
// for the client, so every later event has a sequence above pos and an id
// above the heartbeat's. Its k is one more than that of the id the poll
// acknowledged when that id is at the same position, else 1: ids grow
// along the client's chain of polls whichever node answers, and after a
// restart. Two polls that acknowledge the same id at the same position get
// the same heartbeat, as Zulip hands an unacknowledged event out again.
// (Heartbeats at one position stop counting at idStep-1: the log must stay
// still for some 2 days of heartbeats first.) Ids stay below 2^53, exact
// in JavaScript, while the log's sequences are below 2^41.
const idStep = 1 << 12

// queueScheme marks the queues whose ids are as above. A queue stored by
// an older herald, whose ids counted its heartbeats in the engine, is
// BAD_EVENT_QUEUE_ID: its client registers again.
const queueScheme = 2

// eventID is the id of the event at seq.
func eventID(seq uint64) int64 { return int64(seq * idStep) }

// mark is a resolved last_event_id: the position it acknowledges up to
// and its index among that position's ids (0 for an event's, and for
// register's -1 at the queue's start).
type mark struct {
	pos, k uint64
}

// heartbeatID is the id of a heartbeat that a poll from m sends after
// covering the log up to through (at or after m.pos).
func heartbeatID(m mark, through uint64) int64 {
	if through > m.pos {
		return int64(through*idStep + 1)
	}
	return int64(m.pos*idStep + min(m.k+1, idStep-1))
}

// resolveLast checks that last, a poll's last_event_id, is one the queue
// st handed out, and returns where it stands. -1 (register's) is the
// queue's start. An event's id must be of an event the queue delivers to
// d's user; a heartbeat's must be at a position from the queue's start to
// the log's end (which heartbeat of it cannot be told, and does not move
// the position). Anything else is BAD_REQUEST, as Zulip answers: nothing
// is passed over for an id the client made up.
func (a *API) resolveLast(ctx context.Context, st *cursor.State, d *delivery, last int64) (mark, error) {
	if last == -1 {
		return mark{pos: st.Acked}, nil
	}
	notInQueue := func() error { return badRequest("Event %d was not in this queue", last) }
	if last < 0 {
		return mark{}, notInQueue()
	}
	m := mark{pos: uint64(last) / idStep, k: uint64(last) % idStep}
	if m.pos < st.Acked || (m.pos == st.Acked && m.k == 0) {
		return mark{}, notInQueue()
	}
	if err := a.core.CheckPosition(ctx, m.pos); err != nil {
		var ahead *eventlog.AheadError
		if errors.As(err, &ahead) {
			return mark{}, notInQueue()
		}
		return mark{}, err
	}
	if m.k > 0 {
		return m, nil
	}
	// Through the hub: from its window, with no engine round trip, when
	// the event is recent.
	evs, _, err := a.core.Hub.Read(ctx, m.pos-1, st.Filter, 1)
	if err != nil {
		return mark{}, err
	}
	if len(evs) == 0 || evs[0].Seq != m.pos || !d.keep(&evs[0]) {
		return mark{}, notInQueue()
	}
	return m, nil
}
