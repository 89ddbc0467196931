package framing

import (
	"errors"
	"net"
	"syscall"
)

// ErrWouldBlock is returned by TryWrite when the socket took less than all
// of the bytes (its send buffer is full), and by TryRead when it holds
// nothing yet: the rest must be done by someone who may block.
var ErrWouldBlock = errors.New("framing: socket would block")

// SocketFD returns the socket under c for TryWrite, or -1 when c cannot be
// written without blocking through Go's runtime (TLS, a pipe, a platform
// without writev). The number stays valid until c is closed: the caller
// must own c and never close it while it may still write to the number.
func SocketFD(c net.Conn) int {
	if !canTryWrite {
		return -1
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if raw.Control(func(s uintptr) { fd = int(s) }) != nil {
		return -1
	}
	return fd
}

// Vectors writes lists of buffers to sockets with one system call each,
// never blocking. It keeps scratch space: use one per goroutine.
type Vectors struct {
	iov []iovec
}

// TryWrite writes as much of bufs to the socket fd (see SocketFD) as its
// send buffer takes now, in one writev, and returns how many bytes went.
// If not all did, the error is ErrWouldBlock (or the socket's error) and
// the caller owns the rest. It goes around Go's poller on purpose: the
// socket is already non-blocking, and the poller's lock and deadline
// checks cost as much as a tenth of a small write.
func (v *Vectors) TryWrite(fd int, bufs [][]byte) (int, error) {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total == 0 {
		return 0, nil
	}
	n, err := v.writev(fd, bufs)
	if err == nil && n < total {
		err = ErrWouldBlock
	}
	return n, err
}

// Advance drops the first n bytes from bufs (what TryWrite wrote), slicing
// a partly written buffer; the buffers themselves are not copied.
func Advance(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if n > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}

// TryRead reads what the socket fd (see SocketFD) holds into p without
// blocking: ErrWouldBlock when it holds nothing yet, io.EOF when the peer
// closed. The caller owns the socket, as for TryWrite; a reader that must
// wait reads through the net.Conn instead.
func TryRead(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return read(fd, p)
}
