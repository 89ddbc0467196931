//go:build !linux

package loadgen

import (
	"io"
	"time"
)

// handoff is empty here: without a reactor, the receiver reads its
// connection itself.
type handoff struct{}

// follow feeds the stream to acc from the receiver's own goroutine,
// blocked in a read between events, through the connection's buffer. It
// returns when the stream ends by its framing (nil), the connection fails,
// or close is called.
func (s *streamReceiver) follow(acc *account) error {
	r := s.c.r
	for !s.parser.ended() {
		if _, err := r.Peek(1); err != nil { // fills the buffer if empty
			if err == io.EOF {
				return s.parser.eof()
			}
			return err
		}
		b, _ := r.Peek(r.Buffered())
		end, err := s.parser.feed(b, acc.scan)
		r.Discard(len(b))
		if err != nil || end {
			return err
		}
	}
	return nil
}

// stop ends follow by closing the connection.
func (s *streamReceiver) stop() { s.c.close() }

// send writes frame, the parser's answer to the server (a WebSocket pong,
// the next long-poll), on the connection; run's goroutine, which reads it,
// calls it.
func (s *streamReceiver) send(frame []byte) error {
	_, err := s.c.conn.Write(frame)
	return err
}

// sendAfter sends frame after d (a long-poll the server asked to retry
// later), waiting on run's goroutine, which feeds the parser.
func (s *streamReceiver) sendAfter(d time.Duration, frame []byte) error {
	time.Sleep(d)
	return s.send(frame)
}
