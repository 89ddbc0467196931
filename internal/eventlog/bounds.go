package eventlog

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// boundsTimeout bounds a Bounds call made without a deadline, as the
// client's own requests are bounded.
const boundsTimeout = 5 * time.Second

// Bounds returns the first and last sequence stored (an empty log returns
// first = last+1), asked of the stream's leader, so it counts every event
// acknowledged to a publisher on any node.
//
// It is the engine's stream-info request, sent on the Log's reply
// subscription, with only the state decoded: every read and every pull
// that must see other nodes' writes asks it, and the client's Stream made
// a reply inbox per call and decoded the whole answer (configuration,
// cluster, sources) into a stream handle.
func (l *Log) Bounds(ctx context.Context) (first, last uint64, err error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, boundsTimeout)
		defer cancel()
	}
	ans := l.replies.expect()
	defer ans.done()
	if err := l.nc.PublishRequest(apiPrefix+"STREAM.INFO."+l.stream, ans.Subject, nil); err != nil {
		return 0, 0, fmt.Errorf("eventlog: %w", engineErr(err))
	}
	m, err := ans.next(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("eventlog: %w", engineErr(err))
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		return 0, 0, fmt.Errorf("eventlog: %w", engineErr(nats.ErrNoResponders))
	}
	return streamBounds(m.Data)
}

// streamBounds reads the positions out of a stream-info answer.
func streamBounds(data []byte) (first, last uint64, err error) {
	var resp struct {
		Error *jetstream.APIError `json:"error"`
		State *struct {
			FirstSeq uint64 `json:"first_seq"`
			LastSeq  uint64 `json:"last_seq"`
		} `json:"state"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return 0, 0, fmt.Errorf("eventlog: stream info: %w", err)
	}
	switch {
	case resp.Error != nil:
		return 0, 0, fmt.Errorf("eventlog: %w", resp.Error)
	case resp.State == nil:
		return 0, 0, fmt.Errorf("eventlog: stream info without a state")
	}
	return resp.State.FirstSeq, resp.State.LastSeq, nil
}
