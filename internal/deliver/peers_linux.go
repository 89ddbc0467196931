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

// peerPoller watches the WebSocket sockets for what their clients send,
// with one epoll instance for all of them instead of a goroutine each.
// Clients rarely send — a ping now and then, the closing handshake — and a
// goroutine parked in a read holds a 4 KiB stack per socket. A socket that
// becomes readable gets a short-lived goroutine (readPeerFrames), which
// reads what is waiting, answers it and re-arms the socket.
//
// The descriptor is the connection's own (framing.SocketFD): registering,
// re-arming and removing it happen under the stream's write lock and only
// while the stream is not closed, so the number is never that of another
// socket. The reads go through the connection, which guards its descriptor.
type peerPoller struct {
	e    *Engine
	epfd int

	mu     sync.Mutex
	conns  map[uint64]*stream // by registration token
	next   uint64
	closed bool // the poller stopped; epfd is closed
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
		p := &peerPoller{e: e, epfd: epfd, conns: map[uint64]*stream{}}
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
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.next++
	token := p.next
	ev := syscall.EpollEvent{Events: peerEvents, Fd: int32(token), Pad: int32(token >> 32)}
	if syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, st.fd, &ev) != nil {
		return false
	}
	p.conns[token] = st
	st.peerToken = token
	return true
}

// rearmPeer asks for the next readiness report of a watched socket.
func (e *Engine) rearmPeer(st *stream) {
	st.wmu.Lock()
	defer st.wmu.Unlock()
	if st.closed {
		return
	}
	p := e.peer
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	ev := syscall.EpollEvent{Events: peerEvents, Fd: int32(st.peerToken), Pad: int32(st.peerToken >> 32)}
	if err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, st.fd, &ev); err != nil {
		e.logger.Debug("websocket peers: re-arm", "err", err)
	}
}

// unwatchPeer removes a watched socket; its owner calls it under st.wmu,
// before closing the connection.
func (e *Engine) unwatchPeer(st *stream) {
	p := e.peer
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, st.fd, nil)
	}
	delete(p.conns, st.peerToken)
	st.peerToken = 0
}

// run hands each readable socket to a reader goroutine until shutdown.
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
			st := p.conns[token]
			p.mu.Unlock()
			if st == nil {
				continue // removed since it became readable
			}
			if !p.e.Go(func() { p.e.readPeerFrames(st) }) {
				break // shutting down
			}
		}
	}
	p.mu.Lock()
	p.closed = true
	syscall.Close(p.epfd)
	p.mu.Unlock()
}
