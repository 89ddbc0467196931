package eventlog

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Tail calls fn, from a single goroutine and in order, for every event with
// Seq > after, and then for each new event as it is appended, until ctx ends.
// It survives engine reconnects without gaps (an ordered consumer recreates
// itself from the last sequence it delivered); if the consumer stops for
// good it returns an error wrapping ErrUnavailable.
func (l *Log) Tail(ctx context.Context, after uint64, fn func(Event)) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if after > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
	}
	cons, err := l.js.OrderedConsumer(ctx, l.stream, cfg)
	if err != nil {
		return fmt.Errorf("eventlog: tail: %w", engineErr(err))
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			l.log.Error("tail: message without metadata", "err", err)
			return
		}
		ev, err := decode(md.Sequence.Stream, m.Subject(), m.Data())
		if err != nil {
			l.log.Error("tail: skipping unreadable event", "err", err)
			return
		}
		fn(ev)
	}, jetstream.PullMaxMessages(1024), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		l.log.Debug("tail", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("eventlog: tail: %w", engineErr(err))
	}
	closed := cc.Closed()
	select {
	case <-ctx.Done():
		cc.Drain()
		<-closed
		return nil
	case <-closed:
		// The consumer gave up on its own (the connection was closed under
		// it): return, so that the caller restarts the tail instead of
		// waiting for events that would never come.
		return fmt.Errorf("eventlog: tail: consumer stopped: %w", ErrUnavailable)
	}
}
