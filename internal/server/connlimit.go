package server

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// DefaultConnLimits derives the connection caps from the process's
// open-file limit (Go raises the soft limit to the hard one at start): the
// overall cap keeps a sixteenth of the limit, at least 256 and at most half,
// free for the engine's files, the listeners and the answers to refused
// connections; one client address may hold a quarter of the rest.
func DefaultConnLimits() (total, perAddr int) {
	return connLimitsFor(openFileLimit())
}

// connLimitsFor is DefaultConnLimits for an open-file limit of fds
// (0: unknown).
func connLimitsFor(fds uint64) (total, perAddr int) {
	const unknown, ceiling = 16 << 10, 1 << 24
	switch {
	case fds == 0:
		fds = unknown
	case fds > ceiling: // "unlimited"
		fds = ceiling
	}
	n := int(fds)
	reserve := min(max(n/16, 256), n/2)
	total = n - reserve
	return total, max(total/4, 1)
}

// Refused connections: each gets refuseTimeout to take its answer, and at
// most maxRefusing are answered at once per listener; more are closed
// without one. Their input is drained, up to refuseDrain bytes, so that
// closing does not reset the connection before the client read the answer.
const (
	refuseTimeout = time.Second
	maxRefusing   = 64
	refuseDrain   = 64 << 10
)

// connLimiter caps the connections open at once, over all the listeners it
// wraps and per client address. It sits right above the TCP listeners: a
// connection over a cap is answered and closed before anything else
// (sniffing, TLS, net/http) spends a goroutine or a buffer on it, and the
// file descriptors left over keep the engine and the health checks going.
//
// Ownership: mu guards the counts. Accept takes a slot for each connection
// it returns; the connection's Close gives it back, once, whoever calls it
// (net/http, a sniffer, a detached stream), after the socket is closed.
type connLimiter struct {
	max, maxPerAddr int    // ≤ 0: no limit
	full, addrFull  []byte // the answers over each cap
	refuseTimeout   time.Duration
	maxRefusing     int
	log             *slog.Logger
	warn            rate.Sometimes // one warning a minute while refusing

	mu      sync.Mutex
	open    int
	perAddr map[netip.Addr]int
}

func newConnLimiter(max, maxPerAddr int, log *slog.Logger) *connLimiter {
	return &connLimiter{
		max: max, maxPerAddr: maxPerAddr, log: log,
		refuseTimeout: refuseTimeout, maxRefusing: maxRefusing,
		full:     refusal("503 Service Unavailable", "unavailable", "the server has too many connections open; retry shortly"),
		addrFull: refusal("429 Too Many Requests", "rate_limited", "too many connections from this address; close some, or retry shortly"),
		warn:     rate.Sometimes{Interval: time.Minute},
		perAddr:  make(map[netip.Addr]int),
	}
}

// refusal is a whole HTTP/1.1 answer in the native error shape.
func refusal(status, code, msg string) []byte {
	body := `{"error":{"code":"` + code + `","message":"` + msg + `"}}` + "\n"
	return []byte("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + body)
}

// listener returns ln with its connections counted against l's caps.
func (l *connLimiter) listener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, lim: l, slots: make(chan struct{}, l.maxRefusing), refusing: make(map[net.Conn]struct{})}
}

// take takes a slot for a connection from a, or returns the answer that
// refuses it.
func (l *connLimiter) take(a netip.Addr) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.open >= l.max {
		return l.full
	}
	if l.maxPerAddr > 0 && l.perAddr[a] >= l.maxPerAddr {
		return l.addrFull
	}
	l.open++
	if l.maxPerAddr > 0 {
		l.perAddr[a]++
	}
	return nil
}

func (l *connLimiter) release(a netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.maxPerAddr > 0 {
		if n := l.perAddr[a] - 1; n > 0 {
			l.perAddr[a] = n
		} else {
			delete(l.perAddr, a)
		}
	}
}

// counts returns the connections open, in all and from a.
func (l *connLimiter) counts(a netip.Addr) (open, fromAddr int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.perAddr[a]
}

// clientAddr is what a connection from a counts against: its IP address,
// or for IPv6 its /64, the block one client is usually given.
func clientAddr(a net.Addr) netip.Addr {
	var ip netip.Addr
	if t, ok := a.(*net.TCPAddr); ok {
		ip = t.AddrPort().Addr()
	} else if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// limitListener is one listener under a connLimiter.
type limitListener struct {
	net.Listener
	lim   *connLimiter
	slots chan struct{} // one per refusal being answered

	mu       sync.Mutex
	closed   bool
	refusing map[net.Conn]struct{} // closed by Close
	wg       sync.WaitGroup        // refusals being answered
}

// Accept returns the next connection within the caps; it answers and
// closes the others itself. Errors from the inner listener pass through.
func (ln *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		a := clientAddr(c.RemoteAddr())
		answer := ln.lim.take(a)
		if answer == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				// Keeps every method of the socket (SyscallConn for
				// non-blocking writes, CloseWrite, ReadFrom for sendfile).
				return &limitedTCPConn{TCPConn: tc, slot: slot{lim: ln.lim, addr: a}}, nil
			}
			return &limitedConn{Conn: c, slot: slot{lim: ln.lim, addr: a}}, nil
		}
		ln.lim.warn.Do(func() {
			open, fromAddr := ln.lim.counts(a)
			ln.lim.log.Warn("refusing connections over the cap", "open", open, "max", ln.lim.max,
				"remote", a.String(), "from_remote", fromAddr, "max_per_address", ln.lim.maxPerAddr)
		})
		ln.refuse(c, answer)
	}
}

// refuse answers c on a goroutine of its own that ends within the
// refusal timeout; over maxRefusing it closes c at once.
func (ln *limitListener) refuse(c net.Conn, answer []byte) {
	select {
	case ln.slots <- struct{}{}:
	default:
		c.Close()
		return
	}
	ln.mu.Lock()
	if ln.closed {
		ln.mu.Unlock()
		c.Close()
		<-ln.slots
		return
	}
	ln.refusing[c] = struct{}{}
	ln.wg.Add(1) // under mu while not closed, so Close's Wait cannot miss it
	ln.mu.Unlock()
	go func() {
		defer ln.wg.Done()
		answerAndClose(c, answer, ln.lim.refuseTimeout)
		ln.mu.Lock()
		delete(ln.refusing, c)
		ln.mu.Unlock()
		<-ln.slots
	}()
}

// answerAndClose writes answer to c, ends its sending side and reads what
// the client sends until it closes too (or timeout passes): closing a
// socket with unread input resets the connection, and the client would
// lose the answer.
func answerAndClose(c net.Conn, answer []byte, timeout time.Duration) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(answer); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		_, _ = io.CopyN(io.Discard, c, refuseDrain)
	}
}

// Close closes the inner listener and the connections being refused, and
// waits for their goroutines. Connections already accepted stay open.
func (ln *limitListener) Close() error {
	err := ln.Listener.Close()
	ln.mu.Lock()
	ln.closed = true
	for c := range ln.refusing {
		c.Close()
	}
	ln.mu.Unlock()
	ln.wg.Wait()
	return err
}

// slot is an accepted connection's place under the caps.
type slot struct {
	lim   *connLimiter
	addr  netip.Addr
	freed atomic.Bool
}

func (s *slot) free() {
	if s.freed.CompareAndSwap(false, true) {
		s.lim.release(s.addr)
	}
}

// limitedTCPConn is an accepted TCP connection that frees its slot when
// closed.
type limitedTCPConn struct {
	*net.TCPConn
	slot slot
}

func (c *limitedTCPConn) Close() error {
	err := c.TCPConn.Close()
	c.slot.free()
	return err
}

// limitedConn is limitedTCPConn for other kinds of connection.
type limitedConn struct {
	net.Conn
	slot slot
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.slot.free()
	return err
}
