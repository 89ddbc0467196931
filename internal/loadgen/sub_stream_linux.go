package loadgen

import (
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// handoff is how far a receiver's connection is on its way to a reactor,
// which close may interrupt at any point.
type handoff struct {
	mu     sync.Mutex
	closed bool         // close was called
	conn   *reactorConn // set once a reactor owns the connection

	// The socket once taken from the netpoller, and its reactorConn, for
	// send and sendAfter: set by follow before the reactor may call them,
	// read only after.
	detached bool
	fd       int
	rc       *reactorConn
}

// follow feeds the stream to acc on a reactor: the bytes read along with
// the head here, then the socket there, taken from the runtime's netpoller
// so that only the reactor wakes for an event. It returns when the stream
// ends by its framing (nil), the connection fails, or close is called.
func (s *streamReceiver) follow(acc *account) error {
	// scan is bound once: a method value made per read would escape
	// through the parser's interface and cost an allocation each time.
	c := &reactorConn{fd: -1, parser: s.parser, scan: acc.scan, done: make(chan struct{})}
	if b, _ := s.c.r.Peek(s.c.r.Buffered()); len(b) > 0 {
		if _, err := c.parser.feed(b, c.scan); err != nil {
			s.c.close()
			return err
		}
	}
	if c.parser.ended() { // within what came with the head, or empty
		s.c.close()
		return nil
	}
	fd, err := detach(s.c.conn)
	if err != nil {
		return err
	}
	h := &s.handoff
	c.fd = fd
	h.fd, h.rc, h.detached = fd, c, true
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		syscall.Close(fd)
		return net.ErrClosed
	}
	if err := s.reactors.add(c); err != nil {
		h.mu.Unlock()
		syscall.Close(fd)
		return fmt.Errorf("hand to a reactor: %w", err)
	}
	h.conn = c // under mu with the add: a drop can only follow it
	h.mu.Unlock()
	<-c.done // the reactor is done with c and acc
	return c.err
}

// stop ends follow: before the handoff by closing the connection, after it
// by asking the reactor to drop the connection. Either way follow returns
// soon after, and the fd is closed once.
func (s *streamReceiver) stop() {
	h := &s.handoff
	h.mu.Lock()
	h.closed = true
	c := h.conn
	h.mu.Unlock()
	if c != nil {
		c.drop()
		return
	}
	s.c.close()
}

// send writes frame, the parser's answer to the server (a WebSocket pong,
// the next long-poll), whole: through the connection until follow detaches
// the socket, then with one non-blocking write from the reactor's
// goroutine, the only one reading the socket.
func (s *streamReceiver) send(frame []byte) error {
	h := &s.handoff
	if !h.detached {
		_, err := s.c.conn.Write(frame)
		return err
	}
	return writeFrame(h.fd, frame)
}

// sendAfter sends frame after d (a long-poll the server asked to retry
// later): before the handoff by waiting here, since run's goroutine feeds
// the parser then; after it the reactor writes it once d has passed,
// unless the connection has ended meanwhile. frame must not change until
// then: the parser sends nothing else before the answer to it.
func (s *streamReceiver) sendAfter(d time.Duration, frame []byte) error {
	h := &s.handoff
	if !h.detached {
		time.Sleep(d)
		return s.send(frame)
	}
	h.rc.sendAfter(d, frame)
	return nil
}

// writeFrame writes frame on the non-blocking socket fd with one write. A
// frame of a few hundred bytes fits in the socket's buffer unless the
// server has long stopped reading; a write that would block or falls short
// is an error, since the rest could not follow without a buffer and a wait
// for writability.
func writeFrame(fd int, frame []byte) error {
	for {
		n, err := syscall.Write(fd, frame)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return fmt.Errorf("write: %w", err)
		case n < len(frame):
			return fmt.Errorf("write: %d of %d bytes", n, len(frame))
		}
		return nil
	}
}

// detach takes conn's socket from the runtime's netpoller: it returns a
// duplicate of its fd, which stays non-blocking (the flag belongs to the
// socket, which the duplicate shares), and closes conn, which removes the
// original fd from the runtime's epoll set. The duplicate is close-on-exec
// from the start (F_DUPFD_CLOEXEC): a process the tool spawns meanwhile
// must not keep the socket open.
func detach(conn net.Conn) (int, error) {
	defer conn.Close()
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("detach: %T has no file descriptor", conn)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("detach: %w", err)
	}
	fd := -1
	var errno syscall.Errno
	err = raw.Control(func(s uintptr) {
		var r uintptr
		r, _, errno = syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		fd = int(r)
	})
	if err != nil {
		return -1, fmt.Errorf("detach: %w", err)
	}
	if errno != 0 {
		return -1, fmt.Errorf("detach: dup: %w", errno)
	}
	return fd, nil
}
