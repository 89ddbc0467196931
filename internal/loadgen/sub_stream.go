package loadgen

import "errors"

// streamParser is a push parser of what a connection carries once the
// answer's head is read: an HTTP body in one of its framings (bodyParser)
// or WebSocket frames (wsParser). It is fed the bytes as they are read, in
// any pieces, and hands the data in them on without copying, so that one
// reader — a reactor, or the receiver's own goroutine — serves every kind
// of stream.
type streamParser interface {
	// feed parses b, which continues what the previous feeds saw, and
	// hands the data in it to data. It reports whether the stream has
	// ended by its own framing (bytes after the end are ignored), or why
	// it cannot go on.
	feed(b []byte, data func([]byte)) (end bool, err error)
	// ended reports whether the stream has ended by its own framing.
	ended() bool
	// eof is the stream's fate when the connection ends after what was
	// fed: nil if that is a clean end, else an error.
	eof() error
}

// streamReceiver is one subscription read straight off its connection:
// once the answer's head is read, the bytes go through a parser to the
// account, which finds the tokens in them wherever the server put the
// payload. It does not parse the events, so the same receiver serves
// herald's native, Hue and Plex streams, SSE or WebSocket, and any other
// server's SSE. One of the reactors reads the connection where there are
// reactors (Linux); elsewhere run reads it (see follow).
type streamReceiver struct {
	c        *httpConn
	parser   streamParser
	reactors *reactorPool
	handoff  handoff
}

func (s *streamReceiver) run(acc *account) error {
	err := s.follow(acc)
	if err == nil {
		err = errors.New("the stream ended")
	}
	return err
}

func (s *streamReceiver) close() { s.stop() }
