//go:build linux

package dialect

import (
	"sync"
	"syscall"
)

// peerWaitMillis bounds each epoll_wait, so the poller notices shutdown.
const peerWaitMillis = 250

// peerEvents is the epoll registration of a watched socket: one readiness
// report, then nothing until the reader re-arms it, so that one goroutine
// at a time reads a socket.
const peerEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// peerPoller watches the WebSocket sockets for what their clients send,
// with one epoll instance for all of them instead of a goroutine each.
// Clients rarely send — a ping now and then, the closing handshake — and a
// goroutine parked in a read holds a 4 KiB stack per socket. A socket that
// becomes readable gets a short-lived goroutine (readPeerFrames), which
// reads what is waiting, answers it and re-arms the socket.
//
// The descriptor is the connection's own (stream.SocketFD): registering,
// re-arming and removing it happen under the stream's write lock and only
// while the stream is not closed, so the number is never that of another
// socket. The reads go through the connection, which guards its descriptor.
type peerPoller struct {
	c    *Core
	epfd int

	mu     sync.Mutex
	conns  map[uint64]*sseConn // by registration token
	next   uint64
	closed bool // the poller stopped; epfd is closed
}

// peers returns the core's poller, starting it on first use; nil if it
// cannot run (the caller reads with a goroutine per socket instead).
func (c *Core) peers() *peerPoller {
	c.peerOnce.Do(func() {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			c.Logger.Warn("websocket peers: epoll unavailable; a goroutine per socket", "err", err)
			return
		}
		p := &peerPoller{c: c, epfd: epfd, conns: map[uint64]*sseConn{}}
		if !c.Go(p.run) {
			syscall.Close(epfd)
			return
		}
		c.peer = p
	})
	return c.peer
}

// watchPeer has the poller read sc's client; false if it cannot (the
// caller starts a reader goroutine). sc.wmu must not be held.
func (c *Core) watchPeer(sc *sseConn) bool {
	p := c.peers()
	if p == nil || sc.fd < 0 {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.next++
	token := p.next
	ev := syscall.EpollEvent{Events: peerEvents, Fd: int32(token), Pad: int32(token >> 32)}
	if syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, sc.fd, &ev) != nil {
		return false
	}
	p.conns[token] = sc
	sc.peerToken = token
	return true
}

// rearmPeer asks for the next readiness report of a watched socket.
func (c *Core) rearmPeer(sc *sseConn) {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	if sc.closed {
		return
	}
	p := c.peer
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	ev := syscall.EpollEvent{Events: peerEvents, Fd: int32(sc.peerToken), Pad: int32(sc.peerToken >> 32)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, sc.fd, &ev); err != nil {
		c.Logger.Debug("websocket peers: re-arm", "err", err)
	}
}

// unwatchPeer removes a watched socket; its owner calls it under sc.wmu,
// before closing the connection.
func (c *Core) unwatchPeer(sc *sseConn) {
	p := c.peer
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, sc.fd, nil)
	}
	delete(p.conns, sc.peerToken)
	sc.peerToken = 0
}

// run hands each readable socket to a reader goroutine until shutdown.
func (p *peerPoller) run() {
	events := make([]syscall.EpollEvent, 128)
	for p.c.Shutdown.Err() == nil {
		n, err := syscall.EpollWait(p.epfd, events, peerWaitMillis)
		if err != nil && err != syscall.EINTR {
			p.c.Logger.Error("websocket peers: epoll_wait", "err", err)
			break
		}
		for _, ev := range events[:max(n, 0)] {
			token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			p.mu.Lock()
			sc := p.conns[token]
			p.mu.Unlock()
			if sc == nil {
				continue // removed since it became readable
			}
			if !p.c.Go(func() { p.c.readPeerFrames(sc) }) {
				break // shutting down
			}
		}
	}
	p.mu.Lock()
	p.closed = true
	syscall.Close(p.epfd)
	p.mu.Unlock()
}
