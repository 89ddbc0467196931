package loadgen

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The reactors' parameters.
const (
	reactorEvents    = 512      // events taken per epoll_wait
	reactorBuffer    = 64 << 10 // bytes read per read(2)
	reactorTimeoutMS = 100      // epoll_wait's timeout: how soon a stop is noticed without a wake-up
	// epollET is EPOLLET as a uint32 (syscall.EPOLLET is a negative int).
	epollET = 1 << 31
	// The flags of eventfd2(2), which are open(2)'s.
	efdCloexec  = syscall.O_CLOEXEC
	efdNonblock = syscall.O_NONBLOCK
)

// reactorPool reads the stream receivers' connections (SSE, WebSocket and
// long-polls) on a few goroutines, each waiting in its own epoll instance,
// instead of on a goroutine per connection. A goroutine blocked in a read
// costs, per event, a wake-up by the runtime's netpoller, a goroutine switch and a
// read that often finds nothing more; a reactor takes up to reactorEvents
// ready connections per epoll_wait and reads each into one buffer. The
// tool shares the machine with the server it measures, so what it saves is
// the server's.
//
// Reactors start with the first connection handed to them and stop when
// they have none left, or when the pool closes.
type reactorPool struct {
	reactors []*reactor
	next     atomic.Uint32 // round robin
	wg       sync.WaitGroup
}

// newReactorPool makes a pool of one reactor per two cores, at least one:
// a reactor reads about 150,000 events a second on one core, and each one
// more wakes for fewer events, at a cost. On two cores shared with the
// server, one reactor measured a quarter less CPU per event than two.
func newReactorPool() *reactorPool {
	p := &reactorPool{reactors: make([]*reactor, max(1, runtime.GOMAXPROCS(0)/2))}
	for i := range p.reactors {
		p.reactors[i] = &reactor{pool: p, epfd: -1, wakefd: -1}
	}
	return p
}

// close stops the reactors, ending the connections they still read with
// net.ErrClosed, and waits for their goroutines to return.
func (p *reactorPool) close() {
	for _, r := range p.reactors {
		r.mu.Lock()
		r.closing = true
		if r.running {
			r.wake()
		}
		r.mu.Unlock()
	}
	p.wg.Wait()
}

// add hands c, whose fd the reactor then owns, to a reactor. c.done is
// closed when the connection ends; until then only the reactor touches c.
func (p *reactorPool) add(c *reactorConn) error {
	r := p.reactors[int(p.next.Add(1)-1)%len(p.reactors)]
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return net.ErrClosed
	}
	if !r.running {
		if err := r.start(); err != nil {
			return err
		}
	}
	c.r = r
	r.adds = append(r.adds, c)
	r.wake()
	return nil
}

// reactorConn is a connection read by a reactor: what it needs to read and
// account one stream, and how the stream's end is reported.
type reactorConn struct {
	fd     int
	parser streamParser
	scan   func([]byte) // the account's scan, which the parser feeds
	r      *reactor
	done   chan struct{} // closed when the connection has ended and fd is closed
	err    error         // why it ended (nil: its framing ended it); set before done closes
	closed bool          // drop was called (guarded by r.mu)
}

// drop asks c's reactor to end c with net.ErrClosed, unless it has ended
// already; c.done tells when it has.
func (c *reactorConn) drop() {
	r := c.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.closed || !r.running { // not running: no connection is left
		return
	}
	c.closed = true
	r.drops = append(r.drops, c)
	r.wake()
}

// sendAfter has c's reactor write frame on c once d has passed, unless c
// has ended by then; an error in the write ends c.
func (c *reactorConn) sendAfter(d time.Duration, frame []byte) {
	time.AfterFunc(d, func() {
		r := c.r
		r.mu.Lock()
		defer r.mu.Unlock()
		if c.closed || !r.running || r.closing { // ended, or soon will be
			return
		}
		r.sends = append(r.sends, delayedSend{c, frame})
		r.wake()
	})
}

// delayedSend is a frame whose time to be written on c has come.
type delayedSend struct {
	c     *reactorConn
	frame []byte
}

// reactor is one goroutine reading the connections of one epoll instance.
type reactor struct {
	pool *reactorPool

	mu      sync.Mutex // guards the fields up to the blank line
	running bool       // the goroutine runs; epfd and wakefd are open
	closing bool       // the pool is closing
	woken   bool       // wakefd was written since the goroutine last looked
	adds    []*reactorConn
	drops   []*reactorConn
	sends   []delayedSend
	epfd    int
	wakefd  int // an eventfd in the epoll set: adds, drops or sends are waiting

	// The goroutine's own.
	conns  []*reactorConn // by fd; nil where none
	live   int            // connections in the epoll set
	buf    []byte
	events []syscall.EpollEvent
	spare  [2][]*reactorConn // the lists taken last, for reuse
	spareS []delayedSend
	wbuf   [8]byte
}

// start opens the epoll instance and its eventfd and starts the goroutine.
// r.mu is held.
func (r *reactor) start() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	wfd, _, errno := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, efdCloexec|efdNonblock, 0)
	if errno != 0 {
		syscall.Close(epfd)
		return fmt.Errorf("eventfd2: %w", errno)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(wfd)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, int(wfd), &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(int(wfd))
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	r.epfd, r.wakefd, r.running, r.woken = epfd, int(wfd), true, false
	if r.buf == nil {
		r.buf = make([]byte, reactorBuffer)
		r.events = make([]syscall.EpollEvent, reactorEvents)
	}
	r.pool.wg.Go(r.loop)
	return nil
}

// wake makes the goroutine look at adds, drops, sends and closing. r.mu is held,
// so wakefd is open.
func (r *reactor) wake() {
	if r.woken {
		return
	}
	r.woken = true
	one := [8]byte{1} // 1 little-endian, 2⁵⁶ big-endian: any count wakes
	syscall.Write(r.wakefd, one[:])
}

// loop waits for ready connections and reads them until the reactor has no
// connection left or the pool closes.
func (r *reactor) loop() {
	for {
		n, err := syscall.EpollWait(r.epfd, r.events, reactorTimeoutMS)
		if err != nil && err != syscall.EINTR {
			r.exit(fmt.Errorf("epoll_wait: %w", err))
			return
		}
		for i := range max(n, 0) {
			ev := &r.events[i]
			fd := int(ev.Fd)
			if fd == r.wakefd {
				syscall.Read(fd, r.wbuf[:]) // reset the count; adds and drops are taken below
				continue
			}
			if fd < len(r.conns) && r.conns[fd] != nil {
				r.read(r.conns[fd], ev.Events)
			}
		}
		if !r.control() {
			return
		}
	}
}

// read reads c, ready with events, until the socket has nothing more
// (edge-triggered: the next data brings another event), feeding its
// parser, which may write an answer (a WebSocket pong) on the fd. A read
// shorter than the buffer has emptied the socket (epoll(7) says so of
// stream sockets), which spares the read that would only say EAGAIN —
// unless the peer has closed or failed: its end comes with no further
// event, so the reading goes on to it.
func (r *reactor) read(c *reactorConn, events uint32) {
	ended := events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0
	for {
		n, err := syscall.Read(c.fd, r.buf)
		switch {
		case n > 0:
			end, perr := c.parser.feed(r.buf[:n], c.scan)
			if perr != nil || end {
				r.end(c, perr)
				return
			}
			if n < len(r.buf) && !ended {
				return
			}
		case err == syscall.EAGAIN:
			return
		case err == syscall.EINTR:
		case err != nil:
			r.end(c, fmt.Errorf("read: %w", err))
			return
		default: // EOF
			r.end(c, c.parser.eof())
			return
		}
	}
}

// end removes c from the epoll set, closes its fd and reports err.
func (r *reactor) end(c *reactorConn, err error) {
	syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	r.release(c, err)
	r.conns[c.fd] = nil
	r.live--
}

// release closes c's fd and reports err to c's run.
func (r *reactor) release(c *reactorConn, err error) {
	syscall.Close(c.fd)
	c.err = err
	close(c.done)
}

// control takes the connections added and dropped, and the frames due to
// be sent, since the last look and applies them. It reports whether the
// goroutine goes on: it stops once no connection is left or the pool
// closes.
func (r *reactor) control() bool {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		r.exit(net.ErrClosed)
		return false
	}
	adds, drops, sends := r.adds, r.drops, r.sends
	r.adds, r.drops, r.sends = r.spare[0][:0], r.spare[1][:0], r.spareS[:0]
	r.woken = false
	r.mu.Unlock()

	for _, c := range adds {
		r.register(c)
	}
	for _, c := range drops {
		if c.fd < len(r.conns) && r.conns[c.fd] == c { // not ended meanwhile
			r.end(c, net.ErrClosed)
		}
	}
	for _, s := range sends {
		c := s.c
		if c.fd < len(r.conns) && r.conns[c.fd] == c { // not ended meanwhile, its fd not reused
			if err := writeFrame(c.fd, s.frame); err != nil {
				r.end(c, err)
			}
		}
	}
	clear(adds)
	clear(drops)
	clear(sends)
	r.spare[0], r.spare[1], r.spareS = adds, drops, sends

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live > 0 || len(r.adds) > 0 || r.closing {
		return true
	}
	r.shut()
	return false
}

// register puts c in the epoll set, edge-triggered: bytes already waiting
// in the socket make it ready at once.
func (r *reactor) register(c *reactorConn) {
	if c.fd >= len(r.conns) {
		r.conns = append(r.conns, make([]*reactorConn, c.fd+1-len(r.conns))...)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET, Fd: int32(c.fd)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		r.release(c, fmt.Errorf("epoll_ctl: %w", err))
		return
	}
	r.conns[c.fd] = c
	r.live++
}

// exit ends every connection of the reactor, those waiting to be added
// too, with err, and stops it. The goroutine's own fields are done with
// before it is marked stopped: an add may start a new goroutine then.
func (r *reactor) exit(err error) {
	for fd, c := range r.conns {
		if c != nil {
			r.release(c, err)
			r.conns[fd] = nil
		}
	}
	r.live = 0
	r.mu.Lock()
	adds := r.adds
	r.adds, r.drops, r.sends = nil, nil, nil
	r.shut()
	r.mu.Unlock()
	for _, c := range adds {
		r.release(c, err)
	}
}

// shut closes the epoll instance and the eventfd. r.mu is held.
func (r *reactor) shut() {
	syscall.Close(r.epfd)
	syscall.Close(r.wakefd)
	r.epfd, r.wakefd, r.running = -1, -1, false
}
