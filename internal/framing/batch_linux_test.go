package framing

import (
	"errors"
	"io"
	"syscall"
	"testing"
	"time"
)

// If the ring itself fails, the writes it holds fail with it (their
// streams end; nothing is known of what went), and the batch goes on
// with writev.
func TestBatchRingFailure(t *testing.T) {
	b := newTestBatch(t, 2)
	fds, clients := socketPairs(t, 1)
	fd := b.ring.fd
	b.ring.fd = -1 // io_uring_enter: EBADF
	defer syscall.Close(fd)
	b.Add(fds[0], [][]byte{[]byte("lost\n")})
	b.Send()
	if _, _, err := b.Result(0); !errors.Is(err, syscall.EBADF) {
		t.Fatalf("write through a broken ring: %v, want EBADF", err)
	}
	b.Reset()
	b.Add(fds[0], [][]byte{[]byte("after\n")})
	b.Send()
	if n, _, err := b.Result(0); n != 6 || err != nil {
		t.Fatalf("write after the ring broke: %d, %v", n, err)
	}
	got := make([]byte, 6)
	clients[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(clients[0], got); err != nil || string(got) != "after\n" {
		t.Fatalf("got %q, %v", got, err)
	}
}
