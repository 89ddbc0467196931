package deliver

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/herald-io/herald/internal/framing"
)

// ConnLimits bound the requests the engine reads on connections it took
// over from net/http (see SetHandler): the same limits the server gives
// net/http.
type ConnLimits struct {
	HeaderTimeout  time.Duration // from a request's first byte to its headers' end (default 10s)
	IdleTimeout    time.Duration // between requests (default 120s)
	MaxHeaderBytes int           // request line and headers (default 64 KiB)
}

// SetHandler lets the engine take over plain HTTP/1.1 connections whose
// poll parks (ServePoll) and serve their next requests itself with h, the
// server's whole handler (middleware included). Without it a poll waits
// on its handler's goroutine. Call it once, before serving.
func (e *Engine) SetHandler(h http.Handler, lim ConnLimits) {
	if lim.HeaderTimeout <= 0 {
		lim.HeaderTimeout = 10 * time.Second
	}
	if lim.IdleTimeout <= 0 {
		lim.IdleTimeout = 120 * time.Second
	}
	if lim.MaxHeaderBytes <= 0 {
		lim.MaxHeaderBytes = 64 << 10
	}
	e.serving.Store(&connHandler{handler: h, limits: lim})
}

// connHandler is what serves a detached connection's requests: a
// connection keeps the one it was detached under.
type connHandler struct {
	handler http.Handler
	limits  ConnLimits
}

// A conn is an HTTP/1.1 connection the engine took over from net/http
// when a poll on it parked, and serves from then on: net/http can take no
// connection back. Between requests it is watched by the poller (no
// goroutine, no buffer); a readable one gets a short-lived goroutine that
// reads its requests and serves them with the server's handler (serve);
// a poll that parks again keeps it (ServePoll) without a hijack.
//
// Ownership: one owner at a time, as for streams — the goroutine serving
// a request, a parked poll's owner (a worker or the goroutine answering
// it), or the idle set while it waits for a request. Transitions are made
// under e.connMu, which also guards state, ready and idleSince (taken
// before the poller's lock, never after); only the owner closes the
// connection, after removing it from the poller.
type conn struct {
	e      *Engine
	srv    *connHandler
	nc     net.Conn
	fd     int    // framing.SocketFD(nc)
	remote string // nc.RemoteAddr(), as net/http gives it
	token  uint64 // the poller's registration (0: none yet)
	early  []byte // bytes read past a parked request, read before the socket's

	// deadline: a read deadline may be set (the owner's to clear before
	// the next request's handler, as net/http does).
	deadline bool

	// Guarded by e.connMu.
	poll    *parked // the poll parked on it
	state   connState
	pending bool // readable while parked: its next request came early
	hup     bool // the client hung up while parked
	armed   bool // the poller will report the socket (ready) once
	// stop ends the context of the request being served: the client hung
	// up, as net/http's background read would tell.
	stop      context.CancelFunc
	idleSince int64 // unix nanoseconds, while idle
}

type connState uint8

const (
	connServing connState = iota // a goroutine reads or serves a request
	connParked                   // a poll waits; the socket is armed
	connIdle                     // between requests; the socket is armed
	connClosed
)

// detach takes r's connection over from net/http for a poll that parks;
// nil if it cannot be (TLS, HTTP/2, no poller, no handler to serve what
// follows): the poll then waits on its handler's goroutine. rw is the
// request's ResponseWriter; a request the engine already serves brings
// its conn along.
func (e *Engine) detach(w http.ResponseWriter, r *http.Request) *conn {
	if rs, ok := unwrapResponse(w); ok {
		return rs.takeConn()
	}
	srv := e.serving.Load()
	if srv == nil || r.ProtoMajor != 1 || r.TLS != nil || e.peers() == nil {
		return nil
	}
	nc, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	// fd < 0: not a socket the poller can watch; the poll waits on this
	// goroutine and the connection is read with blocking reads (serve).
	// deadline: net/http may have left one (see Hijack); the first request
	// clears it.
	c := &conn{e: e, srv: srv, nc: nc, fd: framing.SocketFD(nc), remote: r.RemoteAddr, deadline: true}
	c.keepEarly(rw.Reader)
	return c
}

// Adopting returns the handler to give net/http in front of h, the
// handler given to SetHandler: it has the engine take each plain HTTP/1.1
// connection over at its first request without a body, before h serves
// it, and serve that request and the connection's next ones itself, as
// it does those of a connection whose poll parked (see conn). Between
// requests an adopted connection holds no goroutine and no buffer, and
// each answer is written with one writev, where net/http keeps a
// goroutine and two buffers per connection and writes a large answer in
// pieces. The other requests (TLS, HTTP/2 or 1.0, a body, a connection's
// last; before SetHandler) are served with h by net/http.
func (e *Engine) Adopting(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.adopt(w, r, h) {
			h.ServeHTTP(w, r)
		}
	})
}

// adopt takes r's connection over from net/http, if it can, and serves it
// with h.
func (e *Engine) adopt(w http.ResponseWriter, r *http.Request, h http.Handler) bool {
	srv := e.serving.Load()
	if srv == nil || r.ProtoMajor != 1 || !r.ProtoAtLeast(1, 1) || r.Close || r.TLS != nil ||
		r.Body != http.NoBody || e.shutdown.Err() != nil || e.peers() == nil {
		return false
	}
	if _, ok := unwrapResponse(w); ok {
		return false // already the engine's
	}
	// Served on net/http's goroutine, but the engine's from the hijack on:
	// Wait waits for it (net/http's Shutdown does not), as for serveConn.
	if !e.track() {
		return false
	}
	defer e.streams.Done()
	nc, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	// deadline: net/http may have left one (see Hijack).
	c := &conn{e: e, srv: &connHandler{handler: h, limits: srv.limits}, nc: nc, fd: framing.SocketFD(nc), remote: r.RemoteAddr, deadline: true}
	c.keepEarly(rw.Reader)
	e.serveFrom(c, r)
	return true
}

// keepEarly keeps what the client sent past its request (a pipelined
// request), so that the reader and its buffer can go.
func (c *conn) keepEarly(br *bufio.Reader) {
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		// Before what is left of early, if br did not take all of it.
		c.early = append(append(make([]byte, 0, n+len(c.early)), b...), c.early...)
		br.Discard(n)
	}
}

// park arms the socket while a poll waits: a client that hangs up or
// sends its next request early is noticed (ready) without a read.
func (c *conn) park(pp *parked) bool {
	e := c.e
	e.connMu.Lock()
	c.state, c.poll, c.stop = connParked, pp, nil
	if c.fd < 0 {
		e.connMu.Unlock()
		return false
	}
	rearm, ok := c.armLocked()
	e.connMu.Unlock()
	if rearm {
		e.peer.rearm(c.fd, c.token)
	}
	return ok
}

// armLocked has the poller report c's socket once (ready), registering it
// on first use, under e.connMu and then the poller's lock: a report, and
// the sweep, find c's state and token set. rearm: the caller re-arms the
// registration, after e.connMu. A socket still armed is left as it is.
func (c *conn) armLocked() (rearm, ok bool) {
	switch {
	case c.armed:
		return false, true
	case c.token == 0:
		c.armed = c.e.peer.watch(c.fd, c, &c.token)
		return false, c.armed
	}
	c.armed = true
	return true, true
}

// watchServing keeps c's socket armed while its request is served, so
// that a client that hangs up ends the request's context (stop), as with
// net/http. What else the client sends meanwhile is read once the
// request is answered. Its watch ends (c.stop nil) as c goes idle, is
// closed or handed over, or serves its next request.
func (c *conn) watchServing(stop context.CancelFunc) {
	e := c.e
	e.connMu.Lock()
	c.stop = stop
	rearm, _ := c.armLocked()
	e.connMu.Unlock()
	if rearm {
		e.peer.rearm(c.fd, c.token)
	}
}

// ready is the poller's report: a parked conn's client sent something or
// hung up (its poll notices, see parked.gone); an idle one's next request
// has come.
func (c *conn) ready(hup bool) {
	e := c.e
	e.connMu.Lock()
	c.armed = false
	switch c.state {
	case connParked:
		// Its next request came early (pipelined: served once the poll is
		// answered), or it hung up (the poll is dropped).
		c.pending, c.hup = true, hup
		pp := c.poll
		e.connMu.Unlock()
		if hup && pp != nil {
			pp.hungUp()
		}
		return
	case connIdle:
		c.state = connServing
		delete(e.idle, c)
		e.connMu.Unlock()
		e.serveConn(c)
		return
	case connServing:
		// The client hung up while its request is served, or sent more
		// (read once the request is answered: idleAgain arms again).
		if stop := c.stop; hup && stop != nil {
			c.stop = nil
			e.connMu.Unlock()
			stop()
			return
		}
	}
	e.connMu.Unlock()
}

// answered moves c on once its parked poll's answer is written: to its
// next request if one came meanwhile, else to the idle set (the socket is
// still armed from park).
func (c *conn) answered() {
	e := c.e
	if c.fd >= 0 {
		delayAcks(c.fd) // while c is still ours: idle, it may be closed at once
	}
	e.connMu.Lock()
	c.poll = nil
	switch {
	case c.hup:
		e.connMu.Unlock()
		c.close()
	case c.pending || len(c.early) > 0:
		c.pending = false
		c.state = connServing
		e.connMu.Unlock()
		e.serveConn(c)
	case e.shutdown.Err() != nil:
		e.connMu.Unlock()
		c.close()
	default:
		c.toIdleLocked()
		e.connMu.Unlock()
	}
}

// toIdleLocked puts an armed c in the idle set; e.connMu is held.
func (c *conn) toIdleLocked() {
	c.state, c.stop = connIdle, nil
	c.idleSince = time.Now().UnixNano()
	c.e.idle[c] = struct{}{}
}

// idleAgain arms c and puts it in the idle set after a request it served
// did not park.
func (c *conn) idleAgain() {
	e := c.e
	if c.fd < 0 || e.shutdown.Err() != nil {
		c.close()
		return
	}
	e.connMu.Lock()
	rearm, ok := c.armLocked()
	if ok {
		c.toIdleLocked()
	}
	e.connMu.Unlock()
	switch {
	case !ok:
		c.close()
	case rearm:
		e.peer.rearm(c.fd, c.token)
	}
}

// close ends the connection; its owner calls it.
func (c *conn) close() {
	e := c.e
	e.connMu.Lock()
	c.state, c.stop = connClosed, nil
	delete(e.idle, c)
	c.poll = nil
	e.connMu.Unlock()
	if c.token != 0 {
		e.peer.unwatch(c.fd, c.token) // before Close: the number must not be reused under it
		c.token = 0
	}
	c.nc.Close()
}

// sweepIdle closes connections idle past the idle timeout, and all idle
// ones once the server shuts down. The poller calls it after each wait;
// it looks at most once a second.
func (e *Engine) sweepIdle() {
	now := time.Now().UnixNano()
	stopping := e.shutdown.Err() != nil
	e.connMu.Lock()
	if !stopping && now-e.lastSweep < int64(time.Second) {
		e.connMu.Unlock()
		return
	}
	e.lastSweep = now
	var expired []*conn
	for c := range e.idle {
		if stopping || now-c.idleSince > int64(c.srv.limits.IdleTimeout) {
			c.state = connServing // the sweep owns it now
			delete(e.idle, c)
			expired = append(expired, c)
		}
	}
	e.connMu.Unlock()
	for _, c := range expired {
		c.close()
	}
}

// connReader is what a conn's requests are read from: the bytes kept from
// before, then the socket, under a limit and the header timeout while
// headers are read. The socket is read without waiting first: a request
// is almost always whole when the poller hands its connection over, and
// then no deadline is set (nor cleared after it), two timer updates per
// request saved. The timeout so runs from the first read that must wait.
type connReader struct {
	c     *conn
	limit int64 // bytes left for the request line and headers; < 0: no limit
	armed bool  // the header timeout is set for this request
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.limit == 0 {
		return 0, errHeaderTooLarge
	}
	if r.limit > 0 && int64(len(p)) > r.limit {
		p = p[:r.limit]
	}
	var n int
	var err error
	if len(r.c.early) > 0 {
		n = copy(p, r.c.early)
		r.c.early = r.c.early[n:]
		if len(r.c.early) == 0 {
			r.c.early = nil
		}
	} else {
		n, err = r.read(p)
	}
	if r.limit > 0 {
		r.limit -= int64(n)
	}
	return n, err
}

func (r *connReader) read(p []byte) (int, error) {
	c := r.c
	if c.fd >= 0 {
		n, err := framing.TryRead(c.fd, p)
		if n > 0 || err == io.EOF {
			return n, err
		}
		// Nothing yet, or an error the connection reports again, typed.
	}
	if r.limit >= 0 && !r.armed {
		c.nc.SetReadDeadline(time.Now().Add(c.srv.limits.HeaderTimeout))
		r.armed, c.deadline = true, true
	}
	return c.nc.Read(p)
}

var errHeaderTooLarge = errors.New("deliver: request headers too large")

// readers keeps the buffers requests are read with: a conn holds one
// only while it reads or serves a request.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// maxDrain is how much of a body the handler left unread is read and
// dropped to keep the connection (net/http's figure); past it the
// connection closes.
const maxDrain = 256 << 10

// readerIdle is how long a pooled goroutine waits for more work before
// it ends, and maxIdleReaders how many may wait: enough for the requests
// and answers of a busy moment, few enough that a burst's goroutines (one
// per connection that became readable at once) do not linger with their
// stacks.
const (
	readerIdle     = time.Second
	maxIdleReaders = 256
)

// serveConn has c's requests served on a pooled goroutine, through the
// gate; when shutting down, c is closed instead.
func (e *Engine) serveConn(c *conn) { e.gate.Go(c) }

// goPooled runs f on a goroutine of the pool that is idle, or a new one
// (see Go); false when shutting down. Pooled goroutines live on between
// tasks so that their stacks, grown by a handler or an Answer, are not
// grown again for every request: a fresh goroutine per request spent a
// tenth of a Zulip poll's CPU in newstack and copystack.
func (e *Engine) goPooled(f func()) bool {
	select {
	case e.tasks <- f:
		return true
	default:
	}
	return e.Go(func() { e.pooled(f) })
}

// pooled runs f, then the tasks handed to it, until none comes for
// readerIdle.
func (e *Engine) pooled(f func()) {
	t := time.NewTimer(readerIdle)
	defer t.Stop()
	for {
		f()
		if e.idleReaders.Add(1) > maxIdleReaders {
			e.idleReaders.Add(-1)
			return
		}
		t.Reset(readerIdle)
		select {
		case f = <-e.tasks:
			e.idleReaders.Add(-1)
		case <-t.C:
			e.idleReaders.Add(-1)
			return
		case <-e.shutdown.Done():
			e.idleReaders.Add(-1)
			return
		}
	}
}

// serve reads c's requests and serves them with the server's handler
// until one parks or hands the connection over (an SSE stream, a
// WebSocket), the client closes or reads must stop; then c is idle,
// closed or someone else's.
func (e *Engine) serve(c *conn) { e.serveFrom(c, nil) }

// serveFrom is serve with first, if not nil, the connection's request
// already read (by net/http: see adopt).
func (e *Engine) serveFrom(c *conn, first *http.Request) {
	cr := &connReader{c: c, limit: -1}
	br := readers.Get().(*bufio.Reader)
	br.Reset(cr)
	drop := func() {
		br.Reset(nil)
		readers.Put(br)
	}
	release := func() {
		c.keepEarly(br)
		drop()
	}
	for {
		req := first
		first = nil
		if req == nil {
			if c.fd < 0 && br.Buffered() == 0 && len(c.early) == 0 {
				// No poller watches it: wait for the next request here.
				c.nc.SetReadDeadline(time.Now().Add(c.srv.limits.IdleTimeout))
				c.deadline = true
				if _, err := br.Peek(1); err != nil {
					release()
					c.close()
					return
				}
			}
			cr.limit = int64(c.srv.limits.MaxHeaderBytes) + 4096 // net/http's slack for the request line
			cr.armed = false
			var err error
			if req, err = http.ReadRequest(br); err != nil {
				e.refuseRequest(c, cr, err)
				release()
				c.close()
				return
			}
			cr.limit = -1
		}
		if c.deadline {
			c.nc.SetReadDeadline(time.Time{})
			c.deadline = false
		}
		rs := newResponse(c, req, br)
		if status, msg := checkRequest(req); status != 0 {
			rs.fail(status, msg)
			release()
			c.close()
			return
		}
		if c.fd >= 0 {
			ctx, stop := context.WithCancel(req.Context())
			req = req.WithContext(ctx)
			c.watchServing(stop)
		}
		e.serveRequest(rs, req)
		switch {
		case rs.hijacked:
			return // its new owner has the reader too
		case rs.parked:
			drop() // the poll's owner has c, and what br held (takeConn)
			return
		}
		keep := rs.finish()
		if !keep || e.shutdown.Err() != nil {
			release()
			c.close()
			return
		}
		if br.Buffered() > 0 || len(c.early) > 0 || c.fd < 0 {
			continue // pipelined, or read here
		}
		release()
		c.idleAgain()
		return
	}
}

// serveRequest runs the handler, recovering a panic as net/http does.
func (e *Engine) serveRequest(rs *response, req *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			rs.keep = false
			if v == http.ErrAbortHandler {
				return
			}
			buf := make([]byte, 16<<10)
			buf = buf[:runtime.Stack(buf, false)]
			e.logger.Error("http: panic serving", "remote", req.RemoteAddr, "panic", v, "stack", string(buf))
		}
	}()
	rs.c.srv.handler.ServeHTTP(rs, req)
}

// checkRequest applies what net/http checks of a request before its
// handler sees it: an HTTP/1.1 Host, and only the Expect it knows.
func checkRequest(req *http.Request) (int, string) {
	// http.ReadRequest moves the Host field to req.Host.
	if req.ProtoAtLeast(1, 1) && req.Host == "" && req.URL.Host == "" {
		return http.StatusBadRequest, "missing required Host header"
	}
	if !httpguts.ValidHostHeader(req.Host) {
		return http.StatusBadRequest, "malformed Host header"
	}
	if ex := req.Header.Get("Expect"); ex != "" && !strings.EqualFold(ex, "100-continue") {
		return http.StatusExpectationFailed, ""
	}
	return 0, ""
}

// refuseRequest answers a request that could not be read as net/http
// does (431 or 400, then the connection closes), and nothing at all for
// a client that closed or timed out between requests.
func (e *Engine) refuseRequest(c *conn, cr *connReader, err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.As(err, &ne) && ne.Timeout():
		return
	case cr.limit == 0 || errors.Is(err, errHeaderTooLarge):
		c.writeNow("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large")
	default:
		c.writeNow("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request")
	}
}

// writeNow writes a short answer under a short deadline.
func (c *conn) writeNow(s string) {
	c.nc.SetWriteDeadline(time.Now().Add(byeTimeout))
	io.WriteString(c.nc, s)
}

// baseContext is what requests served on detached connections carry: it
// never ends, like net/http's during a graceful shutdown; handlers that
// wait add the engine's shutdown (StreamContext).
var baseContext = context.Background()
