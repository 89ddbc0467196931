package loadgen

import (
	"fmt"
	"net"
	"sync"
	"syscall"
)

// sseHandoff is how far a receiver's connection is on its way to a
// reactor, which close may interrupt at any point.
type sseHandoff struct {
	mu     sync.Mutex
	closed bool         // close was called
	conn   *reactorConn // set once a reactor owns the connection
}

// follow feeds the stream's body to acc on a reactor: the bytes read along
// with the head here, then the socket there, taken from the runtime's
// netpoller so that only the reactor wakes for an event. It returns when
// the body ends (nil), the connection fails, or close is called.
func (s *sseReceiver) follow(acc *account) error {
	c := &reactorConn{fd: -1, body: newBodyParser(s.head), acc: acc, done: make(chan struct{})}
	if b, _ := s.c.r.Peek(s.c.r.Buffered()); len(b) > 0 {
		if _, err := c.body.feed(b, acc.scan); err != nil {
			s.c.close()
			return err
		}
	}
	if c.body.ended() { // within what came with the head, or empty
		s.c.close()
		return nil
	}
	fd, err := detach(s.c.conn)
	if err != nil {
		return err
	}
	h := &s.handoff
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		syscall.Close(fd)
		return net.ErrClosed
	}
	c.fd = fd
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
func (s *sseReceiver) stop() {
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
