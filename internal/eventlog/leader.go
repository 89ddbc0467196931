package eventlog

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go"
)

// maxLeaderRead bounds the events one read takes from the stream's leader
// after a replica's answer ended short: enough for the writes a client
// just made, in one round trip; a replica further behind is read on at the
// next call, from where it stopped.
const maxLeaderRead = 32

// msgGetReply mirrors the engine's answer to a (non-direct) message get.
type msgGetReply struct {
	Message *struct {
		Subject string `json:"subject"`
		Seq     uint64 `json:"seq"`
		Data    []byte `json:"data"`
	} `json:"message"`
	Error *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
}

// errCodeNoMessage is the engine's error code for a sequence it does not
// hold (deleted, or aged out).
const errCodeNoMessage = 10037

// fromLeader returns the events from seq through upTo as the stream's
// leader holds them (see leaderGets). A sequence the leader does not hold
// is passed over.
func (l *Log) fromLeader(ctx context.Context, seq, upTo uint64) ([]Event, error) {
	seqs := make([]uint64, upTo-seq+1)
	for i := range seqs {
		seqs[i] = seq + uint64(i)
	}
	evs, err := l.leaderGets(ctx, seqs)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(evs, func(e Event) bool { return e.Seq == 0 }), nil
}

// leaderGets returns the events at seqs as the stream's leader holds them,
// one for each, in the order of seqs; a zero Event stands for a sequence
// the leader does not hold (deleted, or aged out). The engine's message
// get, unlike a direct get, is answered by the leader only, and it takes
// one message a request, so the requests are sent without waiting for
// answers and the answers gathered (getEach): about one round trip for a
// few hundred events.
func (l *Log) leaderGets(ctx context.Context, seqs []uint64) ([]Event, error) {
	events := make([]Event, len(seqs))
	err := l.getEach(ctx, "$JS.API.STREAM.MSG.GET."+l.stream, seqs, func(i int, m *nats.Msg) error {
		var r msgGetReply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			return fmt.Errorf("eventlog: read: %w", err)
		}
		switch {
		case r.Error != nil && r.Error.ErrCode == errCodeNoMessage:
			// nothing there: a zero Event
		case r.Error != nil:
			return fmt.Errorf("eventlog: read: engine answered %d %s", r.Error.Code, r.Error.Description)
		case r.Message == nil || r.Message.Seq != seqs[i]:
			return fmt.Errorf("eventlog: read: leader answered no event %d", seqs[i])
		default:
			ev, err := decode(r.Message.Seq, r.Message.Subject, r.Message.Data)
			if err != nil {
				return err
			}
			events[i] = ev
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}
