package framing

import (
	"io"
	"syscall"
	"unsafe"
)

const canTryWrite = true

// iovec is one buffer of a writev.
type iovec = syscall.Iovec

// maxIovecs is Linux's IOV_MAX: writev takes no more buffers per call.
const maxIovecs = 1024

func (v *Vectors) writev(fd int, bufs [][]byte) (int, error) {
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
	// A raw system call: a non-blocking write returns at once, so the
	// scheduler need not be told (as the runtime does for its own).
	raceRelease()
	r, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&v.iov[0])), uintptr(len(v.iov)))
	clear(v.iov) // drop the references to the caller's buffers
	switch {
	case errno == syscall.EAGAIN || errno == syscall.EINTR:
		return 0, ErrWouldBlock
	case errno != 0:
		return 0, errno
	}
	return int(r), nil
}

func read(fd int, p []byte) (int, error) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	switch {
	case errno == syscall.EAGAIN || errno == syscall.EINTR:
		return 0, ErrWouldBlock
	case errno != 0:
		return 0, errno
	case r == 0:
		return 0, io.EOF
	}
	raceAcquire(fd)
	return int(r), nil
}
