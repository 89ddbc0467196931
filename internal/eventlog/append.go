package eventlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/herald-io/herald/internal/topic"
)

// MaxIDLen bounds a publisher-chosen event ID.
const MaxIDLen = 128

// Append stores drafts in order and returns one Ack each once the engine has
// acknowledged every one of them (and, with FsyncAlways, synced them). The
// drafts are pipelined: they are all in flight at once, so a batch costs
// about one round trip, and so is the look-up of the stored times of
// duplicates (see storedTimes). On error some drafts may have been stored;
// a retry with the same IDs does not store them twice.
func (l *Log) Append(ctx context.Context, drafts []Draft) ([]Ack, error) {
	for i := range drafts {
		if err := checkDraft(&drafts[i]); err != nil {
			return nil, err
		}
	}
	now := time.Now().UTC()
	acks := make([]Ack, len(drafts))
	futures := make([]jetstream.PubAckFuture, len(drafts))
	for i := range drafts {
		d := &drafts[i]
		id, dedupe := d.ID, d.ID != ""
		if !dedupe {
			id = uuid.NewString()
		}
		m := &nats.Msg{
			Subject: subjectPrefix + d.Topic,
			Data:    appendEnvelope(make([]byte, 0, 32+len(id)+len(d.Type)+len(d.Data)), id, d.Type, now, d.Data),
		}
		var opts []jetstream.PublishOpt
		if dedupe {
			// Only publisher-chosen IDs enter the engine's dedupe window:
			// generated ones are unique, and tracking them costs memory.
			opts = append(opts, jetstream.WithMsgID(id))
		}
		f, err := l.js.PublishMsgAsync(m, opts...)
		if err != nil {
			return nil, fmt.Errorf("eventlog: append: %w", engineErr(err))
		}
		futures[i] = f
		acks[i] = Ack{ID: id, Time: now}
	}
	for i, f := range futures {
		select {
		case pa := <-f.Ok():
			acks[i].Seq = pa.Sequence
			acks[i].Duplicate = pa.Duplicate
			l.raiseAcked(pa.Sequence)
		case err := <-f.Err():
			return nil, fmt.Errorf("eventlog: append: %w", engineErr(err))
		case <-ctx.Done():
			return nil, fmt.Errorf("eventlog: append: %w", engineErr(ctx.Err()))
		}
	}
	if l.commit != nil {
		if err := l.commit.sync(ctx); err != nil {
			return nil, fmt.Errorf("eventlog: append: %w", err)
		}
	}
	if err := l.storedTimes(ctx, acks); err != nil {
		return nil, fmt.Errorf("eventlog: append: the stored time of a duplicate: %w", err)
	}
	return acks, nil
}

// storedTimes sets each duplicate's Time to its stored event's (the
// engine's ack names only the sequence), with the gets all in flight at
// once (getEach): a batch of duplicates costs about what a fresh batch
// does. Direct gets come first. The replica answering one may not hold an
// event the leader has just acknowledged (a follower of a replicated log,
// a mirror that answers direct gets), so what they did not find is asked
// of the leader. A duplicate whose event is no longer stored (the size
// limit removed it while the engine still remembered its id) gets a zero
// Time: there is no time to report, and this attempt's would be wrong. A
// get that fails fails the append, for the same reason; every draft is
// stored by then, so a retry answers duplicates.
func (l *Log) storedTimes(ctx context.Context, acks []Ack) error {
	var dups []int
	var seqs []uint64
	for i := range acks {
		if acks[i].Duplicate {
			dups = append(dups, i)
			seqs = append(seqs, acks[i].Seq)
		}
	}
	if len(dups) == 0 {
		return nil
	}
	set := func(k int, ev Event) error {
		a := &acks[dups[k]]
		if ev.ID != a.ID {
			return fmt.Errorf("eventlog: event %d has id %q, not %q", a.Seq, ev.ID, a.ID)
		}
		a.Time = ev.Time
		return nil
	}
	var missing []int // indexes into dups
	err := l.getEach(ctx, "$JS.API.DIRECT.GET."+l.stream, seqs, func(k int, m *nats.Msg) error {
		if len(m.Data) == 0 && m.Header.Get("Status") != "" {
			if st := m.Header.Get("Status"); st != "404" {
				return fmt.Errorf("eventlog: read: engine answered %s %s", st, m.Header.Get("Description"))
			}
			missing = append(missing, k)
			return nil
		}
		var ev Event
		if err := openEnvelope(m.Data, &ev); err != nil {
			return fmt.Errorf("%w at %d", err, seqs[k])
		}
		return set(k, ev)
	})
	if err != nil || len(missing) == 0 {
		return err
	}
	again := make([]uint64, len(missing))
	for j, k := range missing {
		again[j] = seqs[k]
	}
	evs, err := l.leaderGets(ctx, again)
	if err != nil {
		return err
	}
	for j, k := range missing {
		if evs[j].Seq == 0 { // gone
			acks[dups[k]].Time = time.Time{}
		} else if err := set(k, evs[j]); err != nil {
			return err
		}
	}
	return nil
}

func checkDraft(d *Draft) error {
	if err := topic.Validate(d.Topic); err != nil {
		return err
	}
	if len(d.ID) > MaxIDLen {
		return fmt.Errorf("%w: id longer than %d bytes", ErrInvalidDraft, MaxIDLen)
	}
	if d.Type == "" {
		return fmt.Errorf("%w: type is required", ErrInvalidDraft)
	}
	for _, s := range []string{d.ID, d.Type} {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == 0x7f {
				return fmt.Errorf("%w: control character in id or type", ErrInvalidDraft)
			}
		}
	}
	return nil
}

// ErrInvalidDraft is wrapped by errors about a draft's fields (the topic's
// errors wrap topic.ErrInvalid).
var ErrInvalidDraft = errors.New("invalid event")
