package eventlog

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// maxGetsInFlight bounds the get requests one call keeps in flight, and so
// the answers buffered at once: a batch can be large. (The engine also
// queues message gets for the whole server and drops its entire queue
// past 10,000.)
const maxGetsInFlight = 256

// getEach sends the engine's api (a direct or a message get) one request
// for each of seqs without waiting for answers — up to maxGetsInFlight,
// then one more as each answer comes: about one round trip for a few
// hundred — and hands every answer to answer with the index in seqs it is
// for. The requests ask for no stored headers: herald's fields are in the
// envelope, and the engine's copying of headers was most of a get's cost.
func (l *Log) getEach(ctx context.Context, api string, seqs []uint64, answer func(i int, m *nats.Msg) error) error {
	n := len(seqs)
	ans := l.replies.expect()
	defer ans.done()
	sent := 0
	send := func() error {
		req := []byte(`{"seq":` + strconv.FormatUint(seqs[sent], 10) + `,"no_hdr":true}`)
		if err := l.nc.PublishRequest(api, ans.Subject+"."+strconv.Itoa(sent), req); err != nil {
			return fmt.Errorf("eventlog: read: %w", engineErr(err))
		}
		sent++
		return nil
	}
	for sent < min(n, maxGetsInFlight) {
		if err := send(); err != nil {
			return err
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	// Answers may come in any order; the reply subject's last token says
	// which request each answers.
	answered := make([]bool, n)
	for range n {
		m, err := ans.next(ctx)
		if err != nil {
			return fmt.Errorf("eventlog: read: %w", engineErr(err))
		}
		i, err := strconv.Atoi(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:])
		if err != nil || i < 0 || i >= sent || answered[i] {
			return fmt.Errorf("eventlog: read: unexpected answer on %s", m.Subject)
		}
		answered[i] = true
		if sent < n {
			if err := send(); err != nil {
				return err
			}
		}
		if err := answer(i, m); err != nil {
			return err
		}
	}
	return nil
}
