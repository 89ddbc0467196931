package server

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// DefaultPeekTimeout is how long NewDualListener waits for a client's first
// byte when it is given a peekTimeout of zero or less.
const DefaultPeekTimeout = 10 * time.Second

// tlsRecordHandshake is the first byte of every TLS ClientHello: the record
// type "handshake". No HTTP/1.x method starts with it, and neither does the
// HTTP/2 prior-knowledge preface ("PRI * ...").
const tlsRecordHandshake = 0x16

// DualListenerOption configures NewDualListener.
type DualListenerOption func(*dualListener)

// WithDualListenerLogger makes the listener log connections it drops while
// telling TLS from plain HTTP (at debug level: port scanners and idle
// clients are routine). Without it nothing is logged.
func WithDualListenerLogger(log *slog.Logger) DualListenerOption {
	return func(l *dualListener) {
		if log != nil {
			l.log = log
		}
	}
}

// NewDualListener returns a listener that serves TLS and plain connections
// on the same port. For each connection accepted from inner it reads the
// first byte: a TLS handshake record makes Accept return tls.Server(conn,
// cfg), anything else returns the plain connection. Either way the byte is
// replayed, so the reader above sees the stream untouched.
//
// Each connection is sniffed in its own goroutine, so a client that connects
// and sends nothing delays only itself. It gets peekTimeout (or
// DefaultPeekTimeout if peekTimeout <= 0) to send its first byte; one that
// does not, or whose connection fails before then, is closed and dropped,
// and Accept never sees it. Errors from inner's Accept are passed through
// unchanged, so http.Server's handling of temporary errors still applies.
//
// The TLS handshake itself is left to the caller of Accept (http.Server does
// it on the connection's own goroutine). To serve HTTP/2 over TLS, include
// "h2" in cfg.NextProtos. cfg must not be nil.
//
// Close closes inner and every connection still being sniffed or waiting to
// be accepted, and returns once all goroutines the listener started have
// exited.
func NewDualListener(inner net.Listener, cfg *tls.Config, peekTimeout time.Duration, opts ...DualListenerOption) net.Listener {
	if cfg == nil {
		panic("server: NewDualListener with nil tls.Config")
	}
	if peekTimeout <= 0 {
		peekTimeout = DefaultPeekTimeout
	}
	l := &dualListener{
		inner:       inner,
		cfg:         cfg,
		peekTimeout: peekTimeout,
		log:         slog.New(slog.DiscardHandler),
		ready:       make(chan acceptResult),
		done:        make(chan struct{}),
		innerDone:   make(chan struct{}),
		sniffing:    make(map[net.Conn]struct{}),
	}
	for _, opt := range opts {
		opt(l)
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

// acceptResult is what the listener's goroutines hand to Accept.
type acceptResult struct {
	conn net.Conn
	err  error
}

type dualListener struct {
	inner       net.Listener
	cfg         *tls.Config
	peekTimeout time.Duration
	log         *slog.Logger

	// ready is unbuffered: a connection is handed over only when Accept
	// takes it, so until then it is still the listener's to close.
	ready chan acceptResult
	done  chan struct{} // closed by Close

	innerDone chan struct{} // closed when acceptLoop stops on an error
	innerErr  error         // that error; written before innerDone is closed

	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup // acceptLoop and sniffers

	mu       sync.Mutex
	closed   bool                  // set by Close; no goroutines start after it
	sniffing map[net.Conn]struct{} // connections whose first byte is awaited
}

// Accept waits for and returns the next connection whose protocol is known.
func (l *dualListener) Accept() (net.Conn, error) {
	select {
	case r := <-l.ready:
		return r.conn, r.err
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.innerDone:
		// Prefer the usual "closed" error if that is why inner stopped.
		select {
		case <-l.done:
			return nil, net.ErrClosed
		default:
			return nil, l.innerErr
		}
	}
}

// Close stops accepting, closes the connections not yet handed to Accept
// and waits for the listener's goroutines to exit. Connections already
// returned by Accept belong to the caller and stay open.
func (l *dualListener) Close() error {
	first := false
	l.closeOnce.Do(func() {
		first = true
		close(l.done)
		l.closeErr = l.inner.Close()

		l.mu.Lock()
		l.closed = true
		// Unblocks the sniffers' reads; they see done and exit.
		for c := range l.sniffing {
			c.Close()
		}
		l.mu.Unlock()

		l.wg.Wait()
	})
	if !first {
		return net.ErrClosed
	}
	return l.closeErr
}

// Addr returns inner's address.
func (l *dualListener) Addr() net.Addr { return l.inner.Addr() }

// acceptLoop accepts from inner and starts a sniffer for each connection.
func (l *dualListener) acceptLoop() {
	defer l.wg.Done()
	for {
		c, err := l.inner.Accept()
		if err != nil {
			if isTemporary(err) {
				// Hand it to Accept's caller, whose retry and back-off
				// (http.Server sleeps up to a second) then paces this loop.
				select {
				case l.ready <- acceptResult{err: err}:
					continue
				case <-l.done:
					return
				}
			}
			l.innerErr = err
			close(l.innerDone)
			return
		}

		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.Close()
			return
		}
		l.sniffing[c] = struct{}{}
		// Added under mu while not closed, so Close's wg.Wait cannot miss it.
		l.wg.Add(1)
		l.mu.Unlock()
		go l.sniff(c)
	}
}

// sniff reads c's first byte, wraps c accordingly and hands it to Accept.
func (l *dualListener) sniff(c net.Conn) {
	defer l.wg.Done()

	first, err := l.peek(c)

	l.mu.Lock()
	delete(l.sniffing, c)
	l.mu.Unlock()

	if err != nil {
		select {
		case <-l.done:
			// Closed by Close: not worth a log line per connection.
		default:
			l.log.Debug("dual listener: dropping connection before its first byte",
				"remote", c.RemoteAddr().String(), "err", err)
		}
		c.Close()
		return
	}

	var conn net.Conn = &sniffedConn{Conn: c, first: first, pending: true}
	if first == tlsRecordHandshake {
		conn = tls.Server(conn, l.cfg)
	}
	select {
	case l.ready <- acceptResult{conn: conn}:
	case <-l.done:
		c.Close()
	}
}

// peek reads one byte from c within the peek timeout and then clears the
// deadline, leaving deadlines to the server that owns the connection next.
func (l *dualListener) peek(c net.Conn) (byte, error) {
	if err := c.SetReadDeadline(time.Now().Add(l.peekTimeout)); err != nil {
		return 0, err
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		return 0, err
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		return 0, err
	}
	return b[0], nil
}

// isTemporary reports whether err is one a listener recovers from, such as
// running out of file descriptors, using the same test as http.Server.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary() && !errors.Is(err, net.ErrClosed)
}

// sniffedConn is a connection whose first byte has already been read; it
// returns that byte to the first Read. Every other method, including
// SetDeadline, RemoteAddr and LocalAddr, is the underlying connection's, so
// net/http's timeouts and hijacking work on it unchanged.
type sniffedConn struct {
	net.Conn

	mu      sync.Mutex // Conn allows concurrent calls; guards first and pending
	first   byte
	pending bool
}

// Read returns the sniffed byte first, then reads from the connection.
func (c *sniffedConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return c.Conn.Read(p)
	}
	c.mu.Lock()
	if c.pending {
		c.pending = false
		p[0] = c.first
		c.mu.Unlock()
		// One byte is a valid short read; reading more here could block a
		// caller that only wanted what was already available.
		return 1, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// CloseWrite shuts down the writing side when the connection supports it
// (TCP and Unix sockets do). Embedding net.Conn would hide the method, and
// net/http uses it to close a connection gracefully, letting the client
// read the last response before seeing a reset.
func (c *sniffedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return &net.OpError{Op: "close", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: errors.ErrUnsupported}
}

// ReadFrom passes through to the connection's io.ReaderFrom, so net/http
// can still serve files with sendfile on plain connections.
func (c *sniffedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	// Hide ReadFrom from io.Copy so it does not call back into this method.
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
