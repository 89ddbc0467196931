package dialect

import (
	"context"

	"github.com/herald-io/herald/internal/eventlog"
)

// From is where a reader asks to begin: now, the earliest retained event,
// or a position it names. Every dialect resolves it with Core.Start, so
// "now" and "past the end" mean the same everywhere.
type From struct {
	mode fromMode
	seq  uint64
}

type fromMode uint8

const (
	fromNow fromMode = iota
	fromEarliest
	fromAfter
	fromSeq
)

// FromNow starts after the last event acknowledged to a publisher.
func FromNow() From { return From{} }

// FromEarliest starts at the oldest event retention kept.
func FromEarliest() From { return From{mode: fromEarliest} }

// FromAfter starts after position seq (a resume: Last-Event-ID, after=,
// last_event_id).
func FromAfter(seq uint64) From { return From{mode: fromAfter, seq: seq} }

// FromSeq starts at seq: it is the first event delivered. Unlike a resume,
// a position older than retention is refused at once.
func FromSeq(seq uint64) From { return From{mode: fromSeq, seq: seq} }

// Start resolves from to the position after which the reader reads. A
// named position past the log's end is an *eventlog.AheadError: the log
// was wiped or replaced, and waiting would hand the reader, as new, events
// that already exist under the numbers it has seen.
func (c *Core) Start(ctx context.Context, from From) (uint64, error) {
	switch from.mode {
	case fromEarliest:
		first, _, err := c.Hub.Bounds(ctx)
		return max(first, 1) - 1, err
	case fromAfter:
		return from.seq, c.CheckPosition(ctx, from.seq)
	case fromSeq:
		after := max(from.seq, 1) - 1
		if err := c.CheckPosition(ctx, after); err != nil {
			return 0, err
		}
		first, _, err := c.Hub.Bounds(ctx)
		if err != nil {
			return 0, err
		}
		if from.seq < first {
			return 0, &eventlog.ExpiredError{After: after, Earliest: first}
		}
		return after, nil
	default:
		return c.Hub.Now(ctx)
	}
}

// CheckPosition reports an *eventlog.AheadError if seq is past the last
// event acknowledged to a publisher. A position the hub has seen costs no
// engine call.
func (c *Core) CheckPosition(ctx context.Context, seq uint64) error {
	if seq <= c.Hub.Last() {
		return nil
	}
	last, err := c.Hub.Now(ctx)
	if err != nil {
		return err
	}
	if seq > last {
		return &eventlog.AheadError{After: seq, Last: last}
	}
	return nil
}
