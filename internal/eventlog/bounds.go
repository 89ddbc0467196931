package eventlog

import (
	"bytes"
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

// Acked returns the stream's last sequence without asking the engine, and
// true, where this Log is the stream's only writer (an embedded engine
// without a client port): then every event stored was acknowledged to
// one of its appends, or stored before it opened. Elsewhere (an external
// engine, or an embedded one other clients may write to) it returns
// false, and only Bounds knows.
func (l *Log) Acked() (last uint64, ok bool) {
	if !l.sole {
		return 0, false
	}
	return l.acked.Load(), true
}

// raiseAcked records an append's acknowledged sequence for Acked.
func (l *Log) raiseAcked(seq uint64) {
	for {
		cur := l.acked.Load()
		if seq <= cur || l.acked.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// streamBounds reads the positions out of a stream-info answer. Only its
// state is decoded where the answer has one: the configuration and the
// cluster before and after it are most of its bytes, and decoding them
// all was most of what a Bounds call spent itself.
func streamBounds(data []byte) (first, last uint64, err error) {
	if st, ok := stateOf(data); ok {
		var s streamState
		if json.Unmarshal(st, &s) == nil {
			return s.FirstSeq, s.LastSeq, nil
		}
	}
	var resp struct {
		Error *jetstream.APIError `json:"error"`
		State *streamState        `json:"state"`
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

// streamState is the part of a stream's state Bounds reads.
type streamState struct {
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
}

var stateKey = []byte(`"state":{`)

// stateOf returns the object that is the value of data's top-level key
// "state": a scan of the bytes that only follows strings and nesting, far
// cheaper than decoding what it passes over.
func stateOf(data []byte) ([]byte, bool) {
	depth, start := 0, -1
	inString, escaped := false, false
	key := false // at depth 1, the next string is a key
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			if start < 0 && depth == 1 && key && bytes.HasPrefix(data[i:], stateKey) {
				start = i + len(stateKey) - 1
				i = start - 1 // on to its opening brace
				key = false
				continue
			}
			inString, key = true, false
		case c == '{' || c == '[':
			depth++
			key = c == '{' && depth == 1
		case c == '}' || c == ']':
			depth--
			if start >= 0 && depth == 1 {
				return data[start : i+1], true
			}
		case c == ',':
			key = depth == 1
		}
	}
	return nil, false
}
