package eventlog

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
)

// replies receives the engine's answers to a Log's reads on one
// subscription, held for the Log's life, and hands each answer to the
// request it is for, named by its reply subject: prefix, the request's id,
// and whatever the request adds after a dot. A subscription per read cost
// a SUB and an UNSUB to the engine and a synchronous subscription's
// channel, 64k slots (512 KiB) whatever the answer; here a request holds
// only its answer's messages until it takes them.
type replies struct {
	prefix string
	sub    *nats.Subscription
	closed chan struct{} // closed when the subscription ends (the connection closed)

	mu     sync.Mutex
	lastID uint64
	open   map[uint64]*answers
}

// answers queues the messages answering one request, in the order they came.
type answers struct {
	// Subject is the request's reply subject.
	Subject string

	id    uint64
	r     *replies
	ready chan struct{} // a token once msgs has one after being empty
	mu    sync.Mutex
	msgs  []*nats.Msg // msgs[head:] are not taken yet
	head  int
}

func newReplies(nc *nats.Conn) (*replies, error) {
	r := &replies{prefix: nc.NewInbox() + ".", closed: make(chan struct{}), open: map[uint64]*answers{}}
	sub, err := nc.Subscribe(r.prefix+">", r.deliver)
	if err != nil {
		return nil, fmt.Errorf("eventlog: reply subscription: %w", engineErr(err))
	}
	sub.SetClosedHandler(func(string) { close(r.closed) })
	// A message the client drops as a slow consumer's would leave its read
	// waiting out its timeout; what is pending is bounded by the requests
	// in flight, and deliver only queues.
	_ = sub.SetPendingLimits(-1, -1)
	r.sub = sub
	return r, nil
}

// expect registers a request; its answers queue until done.
func (r *replies) expect() *answers {
	r.mu.Lock()
	r.lastID++
	a := &answers{id: r.lastID, r: r, ready: make(chan struct{}, 1)}
	r.open[a.id] = a
	r.mu.Unlock()
	a.Subject = r.prefix + strconv.FormatUint(a.id, 10)
	return a
}

// deliver runs on the subscription's goroutine, one message at a time.
// A message for a request that is done (it failed, or timed out) is
// dropped.
func (r *replies) deliver(m *nats.Msg) {
	rest, ok := strings.CutPrefix(m.Subject, r.prefix)
	if !ok {
		return
	}
	tok, _, _ := strings.Cut(rest, ".")
	id, err := strconv.ParseUint(tok, 10, 64)
	if err != nil {
		return
	}
	r.mu.Lock()
	a := r.open[id]
	r.mu.Unlock()
	if a == nil {
		return
	}
	a.mu.Lock()
	a.msgs = append(a.msgs, m)
	a.mu.Unlock()
	select {
	case a.ready <- struct{}{}:
	default: // a token is waiting already
	}
}

// next returns the request's next message, waiting for it until ctx ends
// or the connection closes.
func (a *answers) next(ctx context.Context) (*nats.Msg, error) {
	for {
		a.mu.Lock()
		if a.head < len(a.msgs) {
			m := a.msgs[a.head]
			a.msgs[a.head] = nil
			if a.head++; a.head == len(a.msgs) {
				a.msgs, a.head = a.msgs[:0], 0
			}
			a.mu.Unlock()
			return m, nil
		}
		a.mu.Unlock()
		select {
		case <-a.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-a.r.closed:
			return nil, nats.ErrConnectionClosed
		}
	}
}

// done unregisters the request: answers still to come are dropped.
func (a *answers) done() {
	a.r.mu.Lock()
	delete(a.r.open, a.id)
	a.r.mu.Unlock()
}
