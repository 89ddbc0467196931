package eventlog

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
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
// leader holds them: the engine's message get, unlike a direct get, is
// answered by the leader only, and it takes one message a request, so all
// of them are sent at once and the answers gathered (one round trip). A
// sequence the leader does not hold is passed over.
func (l *Log) fromLeader(ctx context.Context, seq, upTo uint64) ([]Event, error) {
	n := int(upTo - seq + 1)
	inbox := l.nc.NewInbox()
	sub, err := l.nc.SubscribeSync(inbox + ".*")
	if err != nil {
		return nil, fmt.Errorf("eventlog: read: %w", engineErr(err))
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	for i := range n {
		req := []byte(`{"seq":` + strconv.FormatUint(seq+uint64(i), 10) + `}`)
		if err := l.nc.PublishRequest("$JS.API.STREAM.MSG.GET."+l.stream, inbox+"."+strconv.Itoa(i), req); err != nil {
			return nil, fmt.Errorf("eventlog: read: %w", engineErr(err))
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	// Answers may come in any order; the reply subject's last token says
	// which request each answers.
	got := make([]*Event, n)
	for range n {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("eventlog: read: %w", engineErr(err))
		}
		i, err := strconv.Atoi(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:])
		if err != nil || i < 0 || i >= n || got[i] != nil {
			return nil, fmt.Errorf("eventlog: read: unexpected answer on %s", m.Subject)
		}
		var r msgGetReply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			return nil, fmt.Errorf("eventlog: read: %w", err)
		}
		switch {
		case r.Error != nil && r.Error.ErrCode == errCodeNoMessage:
			got[i] = &Event{} // nothing there: passed over
		case r.Error != nil:
			return nil, fmt.Errorf("eventlog: read: engine answered %d %s", r.Error.Code, r.Error.Description)
		case r.Message == nil || r.Message.Seq != seq+uint64(i):
			return nil, fmt.Errorf("eventlog: read: leader answered no event %d", seq+uint64(i))
		default:
			ev, err := decode(r.Message.Seq, r.Message.Subject, r.Message.Data)
			if err != nil {
				return nil, err
			}
			got[i] = &ev
		}
	}
	events := make([]Event, 0, n)
	for _, e := range got {
		if e.Seq != 0 {
			events = append(events, *e)
		}
	}
	return events, nil
}
