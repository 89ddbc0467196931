package dialect

import (
	"context"
	"errors"
	"iter"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// A Scan reads the log forward, a page at a time, for a dialect that looks
// at stored events in order: a projection's catch-up, a search for a
// stream's first message, a filtered look past a cursor. It is the one loop
// they share, so they agree on what a hand-written one gets wrong:
//
//  1. A page may stop early, at its size or at the engine's byte limit for
//     one answer; its next position says how far it scanned, and the scan
//     goes on from there. No event is skipped, none is yielded twice.
//  2. A page without matching events is not the end when its next position
//     advanced (a replicated log scans the whole stream and filters). The
//     end is a read that finds nothing and does not advance, or the
//     caller's bound (Through).
//  3. A position older than retention ends the scan with the
//     *eventlog.ExpiredError (see Err), unless the caller accepts the gap
//     (SkipExpired).
//
// A Scan is not safe for concurrent use.
type Scan struct {
	r       Reader
	f       topic.Filter
	pos     uint64
	page    int
	through uint64
	bounded bool // through is set
	skip    bool // SkipExpired
	err     error
}

// Reader reads one page of the log: up to max events after `after` that f
// matches, and the position up to which it scanned. *hub.Hub and
// *eventlog.Log are Readers.
type Reader interface {
	Read(ctx context.Context, after uint64, f topic.Filter, max int) ([]eventlog.Event, uint64, error)
}

// A ScanOption adjusts a Scan.
type ScanOption func(*Scan)

// Page bounds the events one read returns (default and at most
// eventlog.MaxRead): a caller that wants few events reads little.
func Page(n int) ScanOption {
	return func(s *Scan) { s.page = min(max(n, 1), eventlog.MaxRead) }
}

// Through ends the scan once it has scanned through position n (the log's
// last position when the caller began, or a sequence it must reach),
// without the read that would find the end. The page that reaches n may
// hold later events: they were read, and are yielded.
func Through(n uint64) ScanOption {
	return func(s *Scan) { s.through, s.bounded = n, true }
}

// SkipExpired goes on from the earliest stored event when the position is
// older than retention, for a caller to whom the removed events are lost
// anyway (a projection, a search for the oldest held event).
func SkipExpired() ScanOption {
	return func(s *Scan) { s.skip = true }
}

// NewScan returns a scan of the events after `after` that f matches (nil:
// all), read through r. It reads nothing until Events is ranged over.
func NewScan(r Reader, after uint64, f topic.Filter, opts ...ScanOption) *Scan {
	s := &Scan{r: r, f: f, pos: after, page: eventlog.MaxRead}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Scan is NewScan through the hub, which reads its in-memory window when
// it holds the range and the log otherwise.
func (c *Core) Scan(after uint64, f topic.Filter, opts ...ScanOption) *Scan {
	return NewScan(c.Hub, after, f, opts...)
}

// Events yields the events in log order; each is the caller's to keep. It
// stops at the end of the log, at the bound, on an error (see Err), or
// when the caller stops ranging; a page is read only when the caller asks
// for an event beyond the last one. Ranging again goes on from Position.
func (s *Scan) Events(ctx context.Context) iter.Seq[*eventlog.Event] {
	return func(yield func(*eventlog.Event) bool) {
		for s.err == nil && (!s.bounded || s.pos < s.through) {
			if err := ctx.Err(); err != nil {
				s.err = err
				return
			}
			start := s.pos
			evs, next, err := s.r.Read(ctx, start, s.f, s.page)
			var ee *eventlog.ExpiredError
			if s.skip && errors.As(err, &ee) && ee.Earliest-1 > start {
				s.pos = ee.Earliest - 1
				continue
			}
			if err != nil {
				s.err = err
				return
			}
			for i := range evs {
				s.pos = evs[i].Seq
				if !yield(&evs[i]) {
					return
				}
			}
			if next <= start {
				return // the end of the log
			}
			s.pos = max(s.pos, next)
		}
	}
}

// Position is how far the log is scanned: the event last yielded while the
// caller holds it, and once a page is done the position its read scanned
// to, which may lie past its last event.
func (s *Scan) Position() uint64 { return s.pos }

// Err is the error that ended the scan (nil at the end of the log or the
// bound): the reader's as it returned it (an *eventlog.ExpiredError
// without SkipExpired), or the context's.
func (s *Scan) Err() error { return s.err }
