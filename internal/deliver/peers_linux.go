//go:build linux

package deliver

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

// peerPoller watches the sockets whose clients may send something while
// no goroutine reads them, with one epoll instance for all of them instead
// of a goroutine each: WebSockets (a ping now and then, the closing
// handshake) and detached HTTP connections (their next request, see
// conn.go). A goroutine parked in a read holds a 4 KiB stack per socket. A
// socket that becomes readable is handed to what watches it (watched),
// which reads on a short-lived goroutine and re-arms the socket.
//
// The descriptor is the connection's own (framing.SocketFD): registering,
// re-arming and removing it happen under the stream's write lock and only
// while the stream is not closed, so the number is never that of another
// socket. The reads go through the connection, which guards its descriptor.
type peerPoller struct {
	e    *Engine
	epfd int

	mu     sync.Mutex
	conns  map[uint64]watched // by registration token
	next   uint64
	closed bool // the poller stopped; epfd is closed
}

// watched is a socket the poller watches. ready is called, without the
// poller's lock, once per readiness report; hup says the peer hung up.
type watched interface {
	ready(hup bool)
}

// ready starts a reader of the WebSocket client's frames.
func (st *stream) ready(bool) {
	e := st.e
	if !e.Go(func() { e.readPeerFrames(st) }) {
		return // shutting down: the owner ends the stream
	}
}

// peers returns the engine's poller, starting it on first use; nil if it
// cannot run (the caller reads with a goroutine per socket instead).
func (e *Engine) peers() *peerPoller {
	e.peerOnce.Do(func() {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			e.logger.Warn("websocket peers: epoll unavailable; a goroutine per socket", "err", err)
			return
		}
		p := &peerPoller{e: e, epfd: epfd, conns: map[uint64]watched{}}
		if !e.Go(p.run) {
			syscall.Close(epfd)
			return
		}
		e.peer = p
	})
	return e.peer
}

// watchPeer has the poller read st's client; false if it cannot (the
// caller starts a reader goroutine). st.wmu must not be held.
func (e *Engine) watchPeer(st *stream) bool {
	p := e.peers()
	if p == nil || st.fd < 0 {
		return false
	}
	token, ok := p.watch(st.fd, st)
	st.peerToken = token
	return ok
}

// watch registers fd, armed, for w; false if it cannot.
func (p *peerPoller) watch(fd int, w watched) (token uint64, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, false
	}
	p.next++
	token = p.next
	ev := syscall.EpollEvent{Events: peerEvents, Fd: int32(token), Pad: int32(token >> 32)}
	if syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev) != nil {
		return 0, false
	}
	p.conns[token] = w
	return token, true
}

// rearm asks for the next readiness report of a registered socket.
func (p *peerPoller) rearm(fd int, token uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	ev := syscall.EpollEvent{Events: peerEvents, Fd: int32(token), Pad: int32(token >> 32)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, fd, &ev); err != nil {
		p.e.logger.Debug("poller: re-arm", "err", err)
	}
}

// unwatch removes a registered socket; call it before closing the socket,
// so that its number is never another's under the registration.
func (p *peerPoller) unwatch(fd int, token uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	}
	delete(p.conns, token)
}

// rearmPeer asks for the next readiness report of a watched socket.
func (e *Engine) rearmPeer(st *stream) {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if st.closed {
		return
	}
	e.peer.rearm(st.fd, st.peerToken)
}

// unwatchPeer removes a watched socket; its owner calls it under st.wmu,
// before closing the connection.
func (e *Engine) unwatchPeer(st *stream) {
	e.peer.unwatch(st.fd, st.peerToken)
	st.peerToken = 0
}

// run hands each readable socket to what watches it until shutdown.
func (p *peerPoller) run() {
	events := make([]syscall.EpollEvent, 128)
	for p.e.shutdown.Err() == nil {
		n, err := syscall.EpollWait(p.epfd, events, peerWaitMillis)
		if err != nil && err != syscall.EINTR {
			p.e.logger.Error("websocket peers: epoll_wait", "err", err)
			break
		}
		for _, ev := range events[:max(n, 0)] {
			token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			p.mu.Lock()
			w := p.conns[token]
			p.mu.Unlock()
			if w == nil {
				continue // removed since it became readable
			}
			w.ready(ev.Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0)
		}
		p.e.sweepIdle()
	}
	p.mu.Lock()
	p.closed = true
	syscall.Close(p.epfd)
	p.mu.Unlock()
	p.e.sweepIdle() // shutting down: every idle connection closes
}

// delayAcks puts a TCP socket back in delayed-ACK mode. A parked poll's
// wait outlasts the delayed-ACK timer, which then takes the socket out of
// it, so the read of the next request would send an ACK of its own: a
// third packet per poll, beside the request and its answer, which carries
// the ACK when it comes within the timer.
func delayAcks(fd int) {
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 0)
}
