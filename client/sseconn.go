package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// errIdle reports a connection that went silent for idleTimeout.
var errIdle = errors.New("no data or keep-alive from the server")

// sseConn is one open event-stream connection. Its reader goroutine hands
// events over one at a time, unbuffered: an event the consumer has not taken
// is simply read again after a reconnection, so the resume position is
// always the last event delivered, never one merely received.
type sseConn struct {
	cancel context.CancelFunc // ends the request, and with it the reader
	events chan sseEvent
	done   chan struct{} // closed when the reader has returned
	err    error         // why the reader returned; read it after done
	idle   atomic.Bool
}

func (c *sseConn) read(ctx context.Context, body io.ReadCloser) {
	defer close(c.done)
	defer body.Close()
	timer := time.AfterFunc(idleTimeout, func() {
		c.idle.Store(true)
		c.cancel()
	})
	defer timer.Stop()
	r := newSSEReader(body, func() { timer.Reset(idleTimeout) })
	for {
		ev, err := r.next()
		if err != nil {
			if c.idle.Load() {
				err = fmt.Errorf("%w for %s", errIdle, idleTimeout)
			}
			c.err = err
			return
		}
		// Waiting for a slow consumer is not the server's silence.
		timer.Stop()
		select {
		case c.events <- ev:
			timer.Reset(idleTimeout)
		case <-ctx.Done():
			c.err = ctx.Err()
			return
		}
	}
}
