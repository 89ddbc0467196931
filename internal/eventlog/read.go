package eventlog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/herald-io/herald/internal/topic"
)

// MaxRead bounds the events one Read returns.
const MaxRead = 10000

// Read returns up to max events with Seq > after whose topics match f, in
// order, and the position the caller should read after next time. next may
// lie beyond the last returned event: it is the sequence up to which the log
// was scanned. An after older than retention fails with *ExpiredError.
func (l *Log) Read(ctx context.Context, after uint64, f topic.Filter, max int) (events []Event, next uint64, err error) {
	if max <= 0 || max > MaxRead {
		max = MaxRead
	}
	first, last, err := l.Bounds(ctx)
	if err != nil {
		return nil, after, err
	}
	if first > 0 && after+1 < first {
		return nil, after, &ExpiredError{After: after, Earliest: first}
	}
	if after >= last {
		return nil, after, nil
	}
	if l.cfg.Replicas > 1 {
		return l.readWhole(ctx, after, f, max, last)
	}
	patterns := []string(f)
	if len(patterns) == 0 {
		patterns = []string{">"}
	}
	// One batched direct get per pattern over the same range, then a merge:
	// events up to the lowest point at which some pattern's batch stopped
	// early (full, or cut at the byte limit) are complete for every pattern.
	cutoff := last
	for _, p := range patterns {
		evs, through, _, err := l.batch(ctx, after+1, subjectPrefix+p, max, last)
		if err != nil {
			return nil, after, err
		}
		cutoff = min(cutoff, through)
		events = append(events, evs...)
	}
	if len(patterns) > 1 || cutoff < last {
		slices.SortFunc(events, func(a, b Event) int { return cmpSeq(a.Seq, b.Seq) })
		events = slices.CompactFunc(events, func(a, b Event) bool { return a.Seq == b.Seq })
		n := 0
		for n < len(events) && events[n].Seq <= cutoff {
			n++
		}
		events = events[:n]
	}
	if len(events) > max {
		events = events[:max]
	}
	next = cutoff
	if len(events) == max {
		next = events[len(events)-1].Seq
	}
	// The engine's subject wildcards know nothing of the private namespace
	// (see topic.PrivateNamespace): drop what the filter does not match,
	// after the position is set, so it still covers what was scanned.
	kept := events[:0]
	for _, e := range events {
		if f.Match(e.Topic) {
			kept = append(kept, e)
		}
	}
	return kept, next, nil
}

// readWhole is Read on a replicated log. Direct gets are answered by any
// replica that is nearly current (the engine enables them on a follower
// before it has caught up entirely), and one that lacks the newest events
// ends its answer early, as if there were no more. Reading the whole stream
// — every event, filtered here — shows how far the answering replica got,
// so the position never passes an event the reader has not seen: it reads
// the rest on its next call. (Per-pattern reads cannot tell a replica that
// is behind from a pattern with no more matches.) What it lacks, up to
// last, is read from the leader at once (a few events of it, bounded by
// maxLeaderRead): last is the leader's, so it includes every event already
// acknowledged to its publisher, and a client reads its own writes through
// any node.
func (l *Log) readWhole(ctx context.Context, after uint64, f topic.Filter, max int, last uint64) ([]Event, uint64, error) {
	evs, through, lagged, err := l.batch(ctx, after+1, subjectPrefix+">", max, last)
	if err != nil {
		return nil, after, err
	}
	if lagged {
		upTo := min(last, through+uint64(min(max-len(evs), maxLeaderRead)))
		more, err := l.fromLeader(ctx, through+1, upTo)
		if err != nil {
			return nil, after, err
		}
		evs, through = append(evs, more...), upTo
	}
	kept := evs[:0]
	for _, e := range evs {
		if f.Match(e.Topic) {
			kept = append(kept, e)
		}
	}
	return kept, through, nil
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// directGet mirrors the engine's batched direct-get request.
type directGet struct {
	Seq      uint64 `json:"seq,omitempty"`
	NextFor  string `json:"next_by_subj,omitempty"`
	Batch    int    `json:"batch,omitempty"`
	MaxBytes int    `json:"max_bytes,omitempty"`
	UpToSeq  uint64 `json:"up_to_seq,omitempty"`
}

// maxReadBytes bounds one batch's answer: the engine stops after the
// message that reaches it, so a page of large events holds fewer of them
// (the position then stops at the last one; the next read goes on).
const maxReadBytes = 8 << 20

// batch reads up to max messages from seq on matching subj, up to upTo, with
// one request: the engine streams the messages and then an end-of-batch status.
// upTo is the log's last sequence as the caller saw it. through is how far
// the answer is complete: upTo, or less if it stopped early — max reached,
// the byte limit (the engine says more match), or a replica that does not
// hold the newest events yet (then lagged is set; only a whole-stream
// answer on a replicated log can tell).
func (l *Log) batch(ctx context.Context, seq uint64, subj string, max int, upTo uint64) (events []Event, through uint64, lagged bool, err error) {
	whole := subj == subjectPrefix+">"
	if whole {
		// The whole stream: without a subject the engine counts pending
		// messages arithmetically instead of matching every subject.
		subj = ""
	}
	req, _ := json.Marshal(directGet{Seq: seq, NextFor: subj, Batch: max, MaxBytes: maxReadBytes, UpToSeq: upTo})
	ans := l.replies.expect()
	defer ans.done()
	if err := l.nc.PublishRequest("$JS.API.DIRECT.GET."+l.stream, ans.Subject, req); err != nil {
		return nil, 0, false, fmt.Errorf("eventlog: read: %w", engineErr(err))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	events = make([]Event, 0, min(max, 1024))
	got, seen := 0, seq-1 // messages received; the last one's sequence
	for {
		m, err := ans.next(ctx)
		if err != nil {
			return nil, 0, false, fmt.Errorf("eventlog: read: %w", engineErr(err))
		}
		if len(m.Data) == 0 && m.Header.Get("Status") != "" {
			switch st := m.Header.Get("Status"); st {
			case "204", "404": // end of batch; nothing (more) matched
				pending, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
				// A replica's whole-stream answer that ends before upTo
				// shows it lacks the newest events (see readWhole).
				if got == max || pending > 0 {
					return events, min(seen, upTo), false, nil
				}
				if whole && l.cfg.Replicas > 1 && seen < upTo {
					return events, seen, true, nil
				}
				return events, upTo, false, nil
			default:
				return nil, 0, false, fmt.Errorf("eventlog: read: engine answered %s %s", st, m.Header.Get("Description"))
			}
		}
		ev, err := fromDirect(m)
		if err != nil {
			return nil, 0, false, err
		}
		got, seen = got+1, ev.Seq
		// The engine ignores up_to_seq on batched gets: drop what lies
		// beyond it (appended since Bounds), or the caller's next position
		// would be behind events it already has.
		if ev.Seq <= upTo {
			events = append(events, ev)
		}
	}
}

func fromDirect(m *nats.Msg) (Event, error) {
	seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
	if err != nil {
		return Event{}, fmt.Errorf("eventlog: read: bad sequence header: %w", err)
	}
	return decode(seq, m.Header.Get("Nats-Subject"), m.Data)
}

// decode builds the Event stored at seq on subject.
func decode(seq uint64, subject string, payload []byte) (Event, error) {
	ev := Event{Seq: seq, Topic: strings.TrimPrefix(subject, subjectPrefix)}
	if err := openEnvelope(payload, &ev); err != nil {
		return Event{}, fmt.Errorf("%w at %d", err, seq)
	}
	return ev, nil
}
