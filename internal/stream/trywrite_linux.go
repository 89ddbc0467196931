package stream

import (
	"syscall"
	"unsafe"
)

const canTryWrite = true

// maxIovecs is Linux's IOV_MAX: writev takes no more buffers per call.
const maxIovecs = 1024

func (v *Vectors) writev(raw syscall.RawConn, bufs [][]byte) (int, error) {
	v.iov = v.iov[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(v.iov) == maxIovecs {
			break // a short write: the caller hands the rest on
		}
		iov := syscall.Iovec{Base: &b[0]}
		iov.SetLen(len(b))
		v.iov = append(v.iov, iov)
	}
	var n int
	var errno syscall.Errno
	// The callback returns true: one attempt, never a wait for the socket
	// to become writable (that is what a blocking writer is for).
	err := raw.Write(func(fd uintptr) bool {
		r, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&v.iov[0])), uintptr(len(v.iov)))
		n, errno = int(r), e
		return true
	})
	clear(v.iov) // drop the references to the caller's buffers
	switch {
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN || errno == syscall.EINTR:
		return 0, ErrWouldBlock
	case errno != 0:
		return 0, errno
	}
	return n, nil
}
