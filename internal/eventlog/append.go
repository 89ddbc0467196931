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
// about one round trip. On error some drafts may have been stored; a retry
// with the same IDs does not store them twice.
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
	for i := range acks {
		if acks[i].Duplicate {
			// Report the stored event's time, not this attempt's.
			if ev, err := l.get(ctx, acks[i].Seq); err == nil {
				acks[i].Time = ev.Time
			}
		}
	}
	return acks, nil
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
