//go:build linux

package deliver

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// sweepEvery is how often the poller wakes to close idle connections
// when no socket becomes readable.
const sweepEvery = time.Second

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
// The poller's goroutine does not block in epoll_wait: the epoll instance
// is itself a descriptor in the runtime's poller, readable while sockets
// are ready, and is then taken without waiting. A goroutine blocked in a
// system call holds its thread and P, which the runtime's monitor must
// take back, and hand over, every time it blocks.
//
// The descriptor is the connection's own (framing.SocketFD): registering,
// re-arming and removing it happen under the stream's write lock and only
// while the stream is not closed, so the number is never that of another
// socket. The reads go through the connection, which guards its descriptor.
type peerPoller struct {
	e    *Engine
	epfd int
	file *os.File // epfd in Go's poller: it waits for the set to be ready

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
		if err == nil {
			err = syscall.SetNonblock(epfd, true)
		}
		if err != nil {
			e.logger.Warn("websocket peers: epoll unavailable; a goroutine per socket", "err", err)
			return
		}
		p := &peerPoller{e: e, epfd: epfd, file: os.NewFile(uintptr(epfd), "epoll"), conns: map[uint64]watched{}}
		if !e.Go(p.run) {
			p.file.Close()
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
	return p.watch(st.fd, st, &st.peerToken)
}

// watch registers fd, armed, for w, and sets *token to its registration;
// false if it cannot. *token is set under the poller's lock, which a
// report for w takes first: whoever w's report hands it to reads it set.
func (p *peerPoller) watch(fd int, w watched, token *uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.next++
	t := p.next
	ev := syscall.EpollEvent{Events: peerEvents, Fd: int32(t), Pad: int32(t >> 32)}
	if syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, fd, &ev) != nil {
		return false
	}
	*token = t
	p.conns[t] = w
	return true
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
	rc, err := p.file.SyscallConn()
	if err != nil {
		p.e.logger.Error("websocket peers: epoll", "err", err)
		p.stop()
		return
	}
	// Shutdown wakes the wait at once.
	stopWake := context.AfterFunc(p.e.shutdown, func() { p.file.SetReadDeadline(time.Unix(1, 0)) })
	defer stopWake()
	var sweepAt time.Time
	for p.e.shutdown.Err() == nil {
		if now := time.Now(); !now.Before(sweepAt) {
			sweepAt = now.Add(sweepEvery)
			p.file.SetReadDeadline(sweepAt)
		}
		n, err := p.wait(rc, events)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			p.e.logger.Error("websocket peers: epoll_wait", "err", err)
			break
		}
		for _, ev := range events[:n] {
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
	p.stop()
}

// wait returns the reports of the sockets that are ready, waiting in the
// runtime's poller until some are or the file's deadline passes.
func (p *peerPoller) wait(rc syscall.RawConn, events []syscall.EpollEvent) (n int, err error) {
	var werr error
	err = rc.Read(func(uintptr) bool {
		// Non-blocking (timeout 0): the scheduler need not be told.
		r, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_WAIT, uintptr(p.epfd),
			uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
		switch {
		case errno == syscall.EINTR:
			return false
		case errno != 0:
			werr = errno
		default:
			n = int(r)
		}
		return n > 0 || werr != nil
	})
	if werr != nil {
		return 0, werr
	}
	return n, err
}

// stop closes the epoll instance and the idle connections that are due:
// every one once the server shuts down.
func (p *peerPoller) stop() {
	p.mu.Lock()
	p.closed = true
	p.file.Close()
	p.mu.Unlock()
	p.e.sweepIdle()
}

// delayAcks puts a TCP socket back in delayed-ACK mode. A parked poll's
// wait outlasts the delayed-ACK timer, which then takes the socket out of
// it, so the read of the next request would send an ACK of its own: a
// third packet per poll, beside the request and its answer, which carries
// the ACK when it comes within the timer.
func delayAcks(fd int) {
	// A raw call: it returns at once, so the scheduler need not be told.
	var off int32
	syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK,
		uintptr(unsafe.Pointer(&off)), 4, 0)
}
