package framing

// Batch sends many sockets' writes with one system call: on Linux, one
// non-blocking send per socket is queued on an io_uring and all are
// submitted together (see NewBatch); elsewhere NewBatch fails and the
// caller writes with TryWrite. Each write means what TryWrite's does: it
// takes what the socket's send buffer takes now, never waits, and the
// caller owns what did not go.
//
// The caller must own each socket for the batch's whole life (from Add to
// Result): nobody else writes to it or closes it, and each socket is in a
// batch at most once, so its writes leave in order. The buffers are
// referenced, not copied, and must not change until Reset. Use one Batch
// per goroutine.
type Batch struct {
	ring *uring // nil: its setup failed, or it broke (TryWrite instead)
	vec  Vectors
	size int

	fds  []int
	ends []int    // write i's buffers are bufs[ends[i-1]:ends[i]]
	bufs [][]byte // all writes' buffers, in order
	sent []int
	errs []error
}

// NewBatch returns a batch of up to size writes, or an error if this
// system cannot batch them (no io_uring, or it is disabled).
func NewBatch(size int) (*Batch, error) {
	r, err := newURing(size)
	if err != nil {
		return nil, err
	}
	return &Batch{ring: r, size: size}, nil
}

// Len is how many writes are queued.
func (b *Batch) Len() int { return len(b.fds) }

// Full reports whether another write may not be added before Send.
func (b *Batch) Full() bool { return len(b.fds) >= b.size }

// Add queues a write of bufs to the socket fd (see SocketFD); its result
// is Result(i), i the Len before the call, once Send returns. The batch
// must not be Full.
func (b *Batch) Add(fd int, bufs [][]byte) {
	if b.Full() {
		panic("framing: Add to a full Batch")
	}
	b.fds = append(b.fds, fd)
	b.bufs = append(b.bufs, bufs...)
	b.ends = append(b.ends, len(b.bufs))
}

// Send writes what was queued, without blocking, and returns once every
// write has its result.
func (b *Batch) Send() {
	n := len(b.fds)
	b.sent = append(b.sent[:0], make([]int, n)...)
	b.errs = append(b.errs[:0], make([]error, n)...)
	if b.ring != nil {
		if err := b.ring.send(b); err == nil {
			return
		}
		// The ring itself failed (which a working kernel never does): the
		// writes without a result were cut by send, and the next batches
		// go through writev.
		b.ring.close()
		b.ring = nil
		return
	}
	for i := range n {
		b.sent[i], b.errs[i] = b.vec.TryWrite(b.fds[i], b.write(i))
	}
}

// write returns write i's buffers.
func (b *Batch) write(i int) [][]byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.bufs[start:b.ends[i]:b.ends[i]]
}

// Result is what write i did, as TryWrite says it: n bytes went, and if
// not all did, err is ErrWouldBlock (rest is what is left, for a writer
// that may block) or the socket's error.
func (b *Batch) Result(i int) (n int, rest [][]byte, err error) {
	n, err = b.sent[i], b.errs[i]
	if err == ErrWouldBlock {
		rest = Advance(b.write(i), n)
	}
	return n, rest, err
}

// keepBufs is how many buffers an empty batch keeps room for: after a
// batch of long writes (streams with a backlog of frames) the larger
// arrays go back to the collector.
const keepBufs = 1024

// Reset empties the batch and drops its references to the buffers.
func (b *Batch) Reset() {
	clear(b.bufs)
	clear(b.errs)
	b.fds, b.ends, b.bufs = b.fds[:0], b.ends[:0], b.bufs[:0]
	b.sent, b.errs = b.sent[:0], b.errs[:0]
	if cap(b.bufs) > keepBufs {
		b.bufs = nil
	}
}

// Close releases the ring; the batch must be empty.
func (b *Batch) Close() {
	if b.ring != nil {
		b.ring.close()
		b.ring = nil
	}
}

// total is how many bytes bufs hold.
func total(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}
