package framing

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The little of io_uring's interface (linux/io_uring.h) that a batch of
// sends needs.
const (
	opSendmsg = 9  // IORING_OP_SENDMSG
	opSend    = 26 // IORING_OP_SEND

	setupSubmitAll   = 1 << 7 // IORING_SETUP_SUBMIT_ALL: one bad entry does not stop the rest
	setupCoopTaskrun = 1 << 8 // IORING_SETUP_COOP_TASKRUN: no interrupt to post a completion

	featSingleMmap = 1 << 0 // IORING_FEAT_SINGLE_MMAP

	enterGetEvents = 1 << 0 // IORING_ENTER_GETEVENTS

	offSQRing = 0          // IORING_OFF_SQ_RING (and the completions, with featSingleMmap)
	offSQEs   = 0x10000000 // IORING_OFF_SQES
)

// uringParams is struct io_uring_params.
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32

	_     [3]uint32
	sqOff sqRingOffsets
	cqOff cqRingOffsets
}

type sqRingOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, _ uint32
	_                                                           uint64
}

type cqRingOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, _ uint32
	_                                                           uint64
}

// uringSQE is struct io_uring_sqe (64 bytes), as a send uses it.
type uringSQE struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	msgFlags uint32
	userData uint64
	_        [24]byte
}

// uringCQE is struct io_uring_cqe.
type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// uring is one io_uring instance: its submission and completion rings
// mapped from the kernel, and the scratch a batch's sends point into.
type uring struct {
	fd          int
	rings, sqeM []byte  // the mappings
	sqTail      *uint32 // the kernel's head follows it: it takes every entry submitted
	sqMask      uint32
	sqes        []uringSQE
	cqHead      *uint32
	cqTail      *uint32
	cqMask      uint32
	cqes        []uringCQE

	// What the kernel reads the writes from, until their completion.
	iov    []unix.Iovec
	msgs   []unix.Msghdr
	starts []int // write i's iovecs begin at iov[starts[i]]
}

// errNoResult marks a submitted write until its completion arrives.
var errNoResult = errors.New("framing: no completion")

// newURing sets up a ring for size sends at once.
func newURing(size int) (*uring, error) {
	if size <= 0 {
		return nil, fmt.Errorf("framing: io_uring batch of %d", size)
	}
	var p uringParams
	p.flags = setupSubmitAll | setupCoopTaskrun
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(size), uintptr(unsafe.Pointer(&p)), 0)
	if errno == unix.EINVAL { // a kernel older than 5.19: without the flags
		p = uringParams{}
		fd, _, errno = unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(size), uintptr(unsafe.Pointer(&p)), 0)
	}
	if errno != 0 {
		return nil, fmt.Errorf("framing: io_uring_setup: %w", errno)
	}
	r := &uring{fd: int(fd)}
	if p.features&featSingleMmap == 0 {
		r.close()
		return nil, errors.New("framing: io_uring without IORING_FEAT_SINGLE_MMAP (kernel older than 5.4)")
	}
	size32 := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(uringCQE{})))
	var err error
	if r.rings, err = unix.Mmap(r.fd, offSQRing, int(size32), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("framing: io_uring rings: %w", err)
	}
	if r.sqeM, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		r.close()
		return nil, fmt.Errorf("framing: io_uring entries: %w", err)
	}
	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.rings[off])) }
	r.sqTail, r.sqMask = at(p.sqOff.tail), *at(p.sqOff.ringMask)
	r.cqHead, r.cqTail, r.cqMask = at(p.cqOff.head), at(p.cqOff.tail), *at(p.cqOff.ringMask)
	r.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&r.sqeM[0])), p.sqEntries)
	r.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&r.rings[p.cqOff.cqes])), p.cqEntries)
	// Entry i always sits in slot i: the index array is set once.
	array := unsafe.Slice(at(p.sqOff.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	return r, nil
}

// send writes b's queued writes, one send each, submitted with one
// io_uring_enter that also waits for their completions. MSG_DONTWAIT makes
// each complete at once, with what the socket took (a full socket: EAGAIN),
// instead of waiting in the kernel for room while holding the buffers.
// An error is the ring's own: the writes without a result are given it.
func (r *uring) send(b *Batch) error {
	n := len(b.fds)
	// The iovecs first, all of them: the messages point into the array.
	r.iov, r.starts = r.iov[:0], r.starts[:0]
	for i := range n {
		r.starts = append(r.starts, len(r.iov))
		k := 0
		for _, buf := range b.write(i) {
			if len(buf) == 0 {
				continue
			}
			if k == maxIovecs {
				break // a short write: the caller hands the rest on
			}
			iov := unix.Iovec{Base: &buf[0]}
			iov.SetLen(len(buf))
			r.iov = append(r.iov, iov)
			k++
		}
	}
	r.msgs = append(r.msgs[:0], make([]unix.Msghdr, n)...)
	tail := atomic.LoadUint32(r.sqTail)
	queued := uint32(0)
	for i := range n {
		end := len(r.iov)
		if i+1 < n {
			end = r.starts[i+1]
		}
		iov := r.iov[r.starts[i]:end]
		sqe := uringSQE{fd: int32(b.fds[i]), msgFlags: unix.MSG_DONTWAIT | unix.MSG_NOSIGNAL, userData: uint64(i)}
		switch len(iov) {
		case 0:
			continue // nothing to write: sent 0, no error
		case 1:
			sqe.opcode, sqe.addr, sqe.len = opSend, uint64(uintptr(unsafe.Pointer(iov[0].Base))), uint32(iov[0].Len)
		default:
			m := &r.msgs[i]
			m.Iov = &iov[0]
			m.SetIovlen(len(iov))
			sqe.opcode, sqe.addr, sqe.len = opSendmsg, uint64(uintptr(unsafe.Pointer(m))), 1
		}
		r.sqes[(tail+queued)&r.sqMask] = sqe
		b.errs[i] = errNoResult // until its completion says otherwise
		queued++
	}
	atomic.StoreUint32(r.sqTail, tail+queued) // after the entries: the kernel reads them once it sees the tail
	raceRelease()
	err := r.enter(b, queued)
	clear(r.iov) // drop the references to the caller's buffers
	clear(r.msgs)
	if cap(r.iov) > keepBufs {
		r.iov = nil
	}
	return err
}

// enter submits queued entries and reaps their completions into b.
//
// The call is raw: it does not block (each send completes at once, see
// send), it is the kernel's CPU work on the caller's behalf, and deliver's
// batches of 128 sends take well under a millisecond of it. Told of a
// syscall, the runtime hands the caller's processor to another thread once
// one runs past 20 µs, which then finds nothing to do and sleeps: context
// switches for nothing, most of all while the engine's gate holds
// requests back (deliver's servePolls).
func (r *uring) enter(b *Batch, queued uint32) error {
	submitted, done := uint32(0), uint32(0)
	for done < queued {
		got, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(queued-submitted), uintptr(queued-done), enterGetEvents, 0, 0)
		switch errno {
		case 0:
			submitted += uint32(got)
		case unix.EINTR:
		default:
			// Nothing is known of the writes without a completion: they
			// count as failed, so their streams end after their last whole
			// event and the clients resume from it.
			err := fmt.Errorf("framing: io_uring_enter: %w", errno)
			r.reap(b)
			for i, e := range b.errs {
				if e == errNoResult {
					b.errs[i] = err
				}
			}
			return err
		}
		done += r.reap(b)
	}
	return nil
}

// reap takes the completions posted so far and returns how many.
func (r *uring) reap(b *Batch) uint32 {
	head, tail := atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
	n := tail - head
	for ; head != tail; head++ {
		c := r.cqes[head&r.cqMask]
		i := int(c.userData)
		switch res := c.res; {
		case res >= 0:
			b.sent[i], b.errs[i] = int(res), nil
			if int(res) < total(b.write(i)) {
				b.errs[i] = ErrWouldBlock
			}
		case syscall.Errno(-res) == unix.EAGAIN || syscall.Errno(-res) == unix.EINTR:
			b.errs[i] = ErrWouldBlock
		default:
			b.errs[i] = syscall.Errno(-res)
		}
	}
	atomic.StoreUint32(r.cqHead, tail)
	return n
}

func (r *uring) close() {
	if r.sqeM != nil {
		unix.Munmap(r.sqeM)
	}
	if r.rings != nil {
		unix.Munmap(r.rings)
	}
	unix.Close(r.fd)
}
