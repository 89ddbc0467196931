package deliver

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/reqlog"
)

// WSStream is what a dialect's WebSocket endpoint supplies to ServeWS.
type WSStream struct {
	Transport string   // metrics label, e.g. "websocket", "plex-websocket"
	Dialect   string   // the fault rules' name of the API, as for SSEStream.Dialect
	Sub       *hub.Sub // the stream's position and filter; ServeWS closes it
	Key       string   // the key's id, counted as for SSEStream.Key
	// Frame is the format whose encoding of an event is its whole text
	// frame (framing.AppendWSText around the payload): built once per
	// event, written to every connection as is.
	Frame *hub.Format
	// Allow, if set, drops the events it returns false for.
	Allow     func(*hub.Event) bool
	Options   framing.WSOptions
	KeepAlive time.Duration // ping after this long without a write
	// Ended is called when reading fails, e.g. the position is older than
	// retention: it returns the last frames, a close frame last (nil:
	// close with 1011).
	Ended func(err error) []byte
}

// wsGoingAway is what every socket gets when the server shuts down.
var wsGoingAway = framing.WSClose(framing.WSGoingAway, "server shutting down")

// ServeWS upgrades the request and delivers events as text frames until
// the client leaves or closes, a write fails, Ended ends it, or the server
// shuts down (then it closes with 1001, going away). Over the key's cap it
// returns ErrTooManyStreams before the handshake is answered, like
// ServeSSE.
//
// The connection is served like a detached SSE stream (see ServeSSE): by
// the fan-out workers while caught up, by a goroutine of its own while
// behind. What the client sends is watched by the engine's poller (see
// peerPoller), which answers pings and the closing handshake under the
// stream's write lock, so its frames never split the server's.
func (e *Engine) ServeWS(w http.ResponseWriter, r *http.Request, s WSStream) error {
	opened := time.Now()
	if err := e.admit(s.Key, s.Sub); err != nil {
		return err
	}
	if s.Options.WriteTimeout <= 0 {
		s.Options.WriteTimeout = e.writeTimeout
	}
	out, in, err := framing.UpgradeWS(w, r, s.Options)
	if err != nil {
		e.keys.release(s.Key)
		s.Sub.Close()
		return nil // the handshake was answered
	}
	st := &stream{
		e: e,
		spec: SSEStream{
			Transport: s.Transport,
			Dialect:   s.Dialect,
			Sub:       s.Sub,
			Key:       s.Key,
			KeepAlive: s.KeepAlive,
			Idle:      framing.WSPing,
			Frames: func(dst [][]byte, evs []*hub.Event) ([][]byte, int) {
				n := 0
				for _, ev := range evs {
					if s.Allow == nil || s.Allow(ev) {
						dst = append(dst, ev.Wire(s.Frame))
						n++
					}
				}
				return dst, n
			},
			Ended: func(err error) ([]byte, bool) {
				if s.Ended != nil {
					if last := s.Ended(err); last != nil {
						return last, false
					}
				}
				return framing.WSClose(framing.WSInternalError, "stream failed"), false
			},
		},
		out:    out,
		fd:     framing.SocketFD(out.Conn()),
		bye:    wsGoingAway,
		wmu:    new(sync.Mutex),
		logged: reqlog.From(r.Context()).Detach(),
		status: http.StatusSwitchingProtocols,
	}
	e.openFaults(st, opened)
	e.metrics.Subscribers.WithLabelValues(s.Transport).Inc()
	// Bytes the client sent right behind its handshake are read first, by
	// a goroutine of the socket's own; otherwise the poller watches it.
	if early := in != io.Reader(out.Conn()); early || !e.watchPeer(st) {
		if !e.Go(func() { e.readPeer(st, in) }) {
			e.end(st) // shutting down
			return nil
		}
	}
	if !e.Go(func() { e.run(e.shutdown, st) }) {
		e.end(st)
	}
	return nil
}

// defaultPeerFrameTimeout bounds how long a frame the client has begun
// may take to arrive whole (Config.PeerFrameTimeout).
const defaultPeerFrameTimeout = 10 * time.Second

// readPeer reads the client's frames on a goroutine of the socket's own
// until the connection must end (where the poller cannot watch it, or the
// client sent bytes with its handshake). It waits as long as the client
// likes for a frame to begin; what has begun is bounded like the poller's
// reads (readBurst).
func (e *Engine) readPeer(st *stream, in io.Reader) {
	br := framing.NewWSPeerReader(in)
	for {
		_, err := br.Peek(1)
		if err == nil {
			err = e.readBurst(st, br)
		}
		if err != nil {
			e.peerGone(st, err)
			return
		}
	}
}

// readPeerFrames reads the frames a watched socket's client has sent,
// answers them and re-arms the socket; when the client is done it marks
// the stream over instead.
func (e *Engine) readPeerFrames(st *stream) {
	if err := e.readBurst(st, framing.NewWSPeerReader(st.out.Conn())); err != nil {
		e.peerGone(st, err)
		return
	}
	e.rearmPeer(st)
}

// readBurst reads and answers frames until br holds no more, all within
// the peer frame timeout: a client that begins a frame and never finishes
// it cannot hold the reader.
func (e *Engine) readBurst(st *stream, br *bufio.Reader) error {
	conn := st.out.Conn()
	conn.SetReadDeadline(time.Now().Add(e.peerFrame))
	for {
		if err := framing.ReadWSFrame(br, st.replyPeer); err != nil {
			return err
		}
		if br.Buffered() == 0 {
			break
		}
	}
	conn.SetReadDeadline(time.Time{})
	return nil
}

// replyPeer writes a control frame answering the client, serialised with
// the owner's writes; never after the owner closed the stream.
func (st *stream) replyPeer(frame []byte) error {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if st.closed {
		return errStreamClosed
	}
	return st.out.WriteNow(frame, 0)
}

// peerGone marks the stream over after its client closed, broke the
// protocol or went away, and shuts the socket down, so that its owner's
// next write fails and the owner releases it (only the owner closes it).
func (e *Engine) peerGone(st *stream, err error) {
	e.logger.Debug("websocket peer done", "transport", st.spec.Transport, "err", err)
	st.gone.Store(true)
	st.out.Shutdown() // safe after the owner's Close: the conn guards its descriptor
}

// errStreamClosed is what a reply gets once the stream's owner closed it.
var errStreamClosed = errors.New("deliver: stream closed")
