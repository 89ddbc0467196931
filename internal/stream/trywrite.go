package stream

import (
	"errors"
	"net"
	"syscall"
)

// ErrWouldBlock is returned by TryWrite when the socket took less than all
// of the bytes (its send buffer is full): the rest must be written by
// someone who may block.
var ErrWouldBlock = errors.New("stream: write would block")

// RawConn returns the socket under c for TryWrite, or nil when c cannot be
// written without blocking through Go's runtime (TLS, a pipe, a platform
// without writev).
func RawConn(c net.Conn) syscall.RawConn {
	if !canTryWrite {
		return nil
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// Vectors writes lists of buffers to sockets with one system call each,
// never blocking. It keeps scratch space: use one per goroutine.
type Vectors struct {
	iov []syscall.Iovec
}

// TryWrite writes as much of bufs to raw as its send buffer takes now, in
// one writev, and returns how many bytes went. If not all did, the error is
// ErrWouldBlock (or the socket's error) and the caller owns the rest.
func (v *Vectors) TryWrite(raw syscall.RawConn, bufs [][]byte) (int, error) {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total == 0 {
		return 0, nil
	}
	n, err := v.writev(raw, bufs)
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
