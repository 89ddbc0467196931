package dialect

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/stream"
)

// WSStream is what a dialect's WebSocket endpoint supplies to ServeWS.
type WSStream struct {
	Transport string   // metrics label, e.g. "websocket", "plex-websocket"
	Sub       *hub.Sub // the stream's position and filter; ServeWS closes it
	// Frame is the format whose encoding of an event is its whole text
	// frame (stream.AppendWSText around the payload): built once per
	// event, written to every connection as is.
	Frame *hub.Format
	// Allow, if set, drops the events it returns false for.
	Allow     func(*hub.Event) bool
	Options   stream.WSOptions
	KeepAlive time.Duration // ping after this long without a write
	// Ended is called when reading fails, e.g. the position is older than
	// retention: it returns the last frames, a close frame last (nil:
	// close with 1011).
	Ended func(err error) []byte
}

// wsGoingAway is what every socket gets when the server shuts down.
var wsGoingAway = stream.WSClose(stream.WSGoingAway, "server shutting down")

// ServeWS upgrades the request and delivers events as text frames until
// the client leaves or closes, a write fails, Ended ends it, or the server
// shuts down (then it closes with 1001, going away).
//
// The connection is served like a detached SSE stream (see ServeSSE): by
// the fan-out workers while caught up, by a goroutine of its own while
// behind. A goroutine per connection reads what the client sends: it
// answers pings and the closing handshake under the stream's write lock,
// so its frames never split the server's.
func (c *Core) ServeWS(w http.ResponseWriter, r *http.Request, s WSStream) {
	if s.Options.WriteTimeout <= 0 {
		s.Options.WriteTimeout = c.WriteTimeout
	}
	out, in, err := stream.UpgradeWS(w, r, s.Options)
	if err != nil {
		s.Sub.Close()
		return // the handshake was answered
	}
	sc := &sseConn{
		spec: SSEStream{
			Transport: s.Transport,
			Sub:       s.Sub,
			KeepAlive: s.KeepAlive,
			Idle:      stream.WSPing,
			Frames: func(dst [][]byte, evs []*hub.Event) ([][]byte, int) {
				n := 0
				for _, e := range evs {
					if s.Allow == nil || s.Allow(e) {
						dst = append(dst, e.Wire(s.Frame))
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
				return stream.WSClose(stream.WSInternalError, "stream failed"), false
			},
		},
		out: out,
		fd:  stream.SocketFD(out.Conn()),
		bye: wsGoingAway,
		wmu: new(sync.Mutex),
	}
	c.Metrics.Subscribers.WithLabelValues(s.Transport).Inc()
	if !c.Go(func() { c.readPeer(sc, in) }) {
		c.endSSE(sc) // shutting down
		return
	}
	if !c.Go(func() { c.runSSE(c.Shutdown, sc) }) {
		c.endSSE(sc)
	}
}

// readPeer reads the client's frames until the connection must end, then
// marks the stream over and shuts the socket down, so that its owner's
// next write fails and the owner releases it (only the owner closes it).
func (c *Core) readPeer(sc *sseConn, in io.Reader) {
	err := stream.ReadWSPeer(in, func(frame []byte) error {
		sc.wmu.Lock()
		defer sc.wmu.Unlock()
		if sc.closed {
			return errStreamClosed
		}
		return sc.out.WriteNow(frame, 0)
	})
	if err != nil {
		c.Logger.Debug("websocket peer", "transport", sc.spec.Transport, "err", err)
	}
	sc.gone.Store(true)
	sc.out.Shutdown() // safe after the owner's Close: the conn guards its descriptor
}

// errStreamClosed is what a reply gets once the stream's owner closed it.
var errStreamClosed = errors.New("dialect: stream closed")
