package zulip

import (
	"encoding/json"
	"fmt"

	"github.com/herald-io/herald/internal/cursor"
)

// Event ids. Zulip numbers a queue's events, heartbeats included, with one
// strictly increasing counter, and last_event_id acknowledges everything up
// to an id. herald stores no heartbeat: a queue's ids are log sequence
// numbers shifted by the number of heartbeats the queue has sent so far,
// its meta's Heartbeats (h):
//
//	an event with sequence seq   id = seq + h
//	a heartbeat at position pos  id = pos + h, after h is incremented
//
// A heartbeat is sent only when nothing is pending (every event up to the
// queue's position pos is acknowledged or passed over), so the next event
// has a sequence above pos and, h being counted up first, an id above the
// heartbeat's; two heartbeats at the same position differ by their count.
// While a batch is pending h does not change, so a batch keeps its ids
// when it is handed out again. Acknowledging id n acknowledges sequences up
// to n-h: a heartbeat's id acknowledges just its position. The count is
// stored with the queue's cursor and changed with compare-and-set, so ids
// stay increasing whichever node serves a poll.

// heartbeatsOf returns the heartbeats the queue of st has sent (0 for a
// queue stored before they were counted).
func heartbeatsOf(st *cursor.State) uint64 {
	var m queueMeta
	json.Unmarshal(st.Meta, &m) // a queue's meta was checked when it was looked up
	return m.Heartbeats
}

// countHeartbeat is the cursor change of a poll that ends in a heartbeat.
func countHeartbeat(st *cursor.State) error {
	var m queueMeta
	if err := json.Unmarshal(st.Meta, &m); err != nil {
		return fmt.Errorf("zulip: queue %s: meta: %w", st.ID, err)
	}
	m.Heartbeats++
	b, err := json.Marshal(&m)
	if err != nil {
		return fmt.Errorf("zulip: queue %s: meta: %w", st.ID, err)
	}
	st.Meta = b
	return nil
}

// heartbeat is Zulip's keep-alive event, with the id of the heartbeat that
// st, the queue as stored by the poll that ends with it, counted last.
func heartbeat(st *cursor.State) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"type": "heartbeat", "id": st.Acked + heartbeatsOf(st)})
	return b
}

// acknowledge is the cursor change of last_event_id: every event up to it
// is acknowledged. -1 (register's) acknowledges nothing; an id at or below
// the queue's position was acknowledged already; one above it must have
// been handed out in the pending batch, which it ends (a batch it covers
// in part is formed again from the rest).
func acknowledge(last int64) func(*cursor.State) error {
	return func(st *cursor.State) error {
		if last < 0 {
			return nil
		}
		h := heartbeatsOf(st)
		if uint64(last) <= st.Acked+h {
			return nil
		}
		seq := uint64(last) - h
		if st.Batch == nil || seq > st.Batch.Through {
			return badRequest("Event %d was not in this queue", last)
		}
		st.Acked, st.Batch = seq, nil
		return nil
	}
}
