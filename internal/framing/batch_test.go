package framing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// socketPairs returns n connected loopback TCP pairs: the server ends'
// sockets (for TryWrite and Batch) and the client ends to read.
func socketPairs(t testing.TB, n int) (fds []int, clients []net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(); s.Close() })
		fd := SocketFD(s)
		if fd < 0 {
			t.Fatal("no socket descriptor")
		}
		fds, clients = append(fds, fd), append(clients, c)
	}
	return fds, clients
}

func newTestBatch(t testing.TB, size int) *Batch {
	t.Helper()
	b, err := NewBatch(size)
	if err != nil {
		t.Skip("no io_uring here:", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Every write of a batch arrives whole on its own socket: one buffer (a
// send), several (a sendmsg), none (no entry at all).
func TestBatchWrites(t *testing.T) {
	b := newTestBatch(t, 8)
	fds, clients := socketPairs(t, 3)
	writes := [][][]byte{
		{[]byte("one buffer\n")},
		{[]byte("several "), nil, []byte("buffers"), []byte("\n")},
		{nil, {}},
	}
	for round := range 3 {
		for i, w := range writes {
			b.Add(fds[i], w)
		}
		b.Send()
		for i, w := range writes {
			n, rest, err := b.Result(i)
			if want := total(w); n != want || err != nil || rest != nil {
				t.Fatalf("round %d, write %d: %d, %q, %v; want %d, nil, nil", round, i, n, rest, err, want)
			}
		}
		b.Reset()
	}
	for i, w := range writes[:2] {
		want := bytes.Repeat(bytes.Join(w, nil), 3)
		got := make([]byte, len(want))
		clients[i].SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(clients[i], got); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("socket %d got %q, %v; want %q", i, got, err, want)
		}
	}
}

// A socket that takes part of a write says how much, and the rest is
// exactly what did not go; a full one takes nothing (ErrWouldBlock,
// never a wait); what the rest and the reads make up is the stream sent.
func TestBatchFullSocket(t *testing.T) {
	b := newTestBatch(t, 2)
	fds, clients := socketPairs(t, 2)
	clients[0].(*net.TCPConn).SetReadBuffer(16 << 10)
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4<<10) // 64 KiB
	var sent []byte
	var partial, none bool
	for round := 0; !none; round++ {
		if round == 1000 {
			t.Fatal("the socket never filled up")
		}
		frame := fmt.Appendf(nil, "frame %d\n", round)
		w := [][]byte{frame, chunk}
		b.Add(fds[0], w)
		b.Add(fds[1], [][]byte{frame}) // the other socket is not held up
		b.Send()
		n, rest, err := b.Result(0)
		if m, _, err1 := b.Result(1); m != len(frame) || err1 != nil {
			t.Fatalf("round %d: the other socket: %d, %v", round, m, err1)
		}
		sent = append(sent, bytes.Join(w, nil)[:n]...)
		switch {
		case err == nil:
			if n != total(w) {
				t.Fatalf("round %d: %d of %d bytes went, and no ErrWouldBlock", round, n, total(w))
			}
		case errors.Is(err, ErrWouldBlock):
			if !bytes.Equal(bytes.Join(rest, nil), bytes.Join(w, nil)[n:]) {
				t.Fatalf("round %d: the rest is not what did not go", round)
			}
			partial = partial || n > 0
			none = n == 0
		default:
			t.Fatalf("round %d: %v", round, err)
		}
		b.Reset()
	}
	if !partial {
		t.Log("no partial write seen (the socket filled at a write's edge)")
	}
	got := make([]byte, len(sent))
	clients[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(clients[0], got); err != nil || !bytes.Equal(got, sent) {
		t.Fatalf("the client read %d bytes (%v), not the %d that went", len(got), err, len(sent))
	}
}

// After the client has gone, the write fails with the socket's error.
func TestBatchClosedPeer(t *testing.T) {
	b := newTestBatch(t, 1)
	fds, clients := socketPairs(t, 1)
	clients[0].(*net.TCPConn).SetLinger(0) // a reset, at once
	clients[0].Close()
	for round := range 100 {
		b.Add(fds[0], [][]byte{[]byte("x")})
		b.Send()
		_, _, err := b.Result(0)
		b.Reset()
		if err != nil && !errors.Is(err, ErrWouldBlock) {
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("got %v, want a reset or a broken pipe", err)
			}
			return
		}
		time.Sleep(time.Duration(round) * time.Millisecond)
	}
	t.Fatal("writes to a reset connection kept succeeding")
}

// A round of one ~300-byte write to each of 1,000 loopback sockets, with
// one writev each or in batches of 128 through the ring (the clients'
// reads are not timed).
func BenchmarkRound(b *testing.B) {
	const sockets, batch = 1000, 128
	fds, clients := socketPairs(b, sockets)
	msg := [][]byte{bytes.Repeat([]byte("x"), 300)}
	buf := make([]byte, 64<<10)
	drain := func() {
		b.StopTimer()
		for _, c := range clients {
			c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := io.ReadFull(c, buf[:len(msg[0])]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.Run("writev", func(b *testing.B) {
		var v Vectors
		for b.Loop() {
			for _, fd := range fds {
				if _, err := v.TryWrite(fd, msg); err != nil {
					b.Fatal(err)
				}
			}
			drain()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sockets), "ns/write")
	})
	b.Run("io_uring", func(b *testing.B) {
		r := newTestBatch(b, batch)
		for b.Loop() {
			for i, fd := range fds {
				r.Add(fd, msg)
				if r.Full() || i == len(fds)-1 {
					r.Send()
					for j := range r.Len() {
						if _, _, err := r.Result(j); err != nil {
							b.Fatal(err)
						}
					}
					r.Reset()
				}
			}
			drain()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sockets), "ns/write")
	})
}
