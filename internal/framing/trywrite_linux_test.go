package framing

import (
	"errors"
	"io"
	"testing"
	"time"
)

// TryRead takes what the socket holds without waiting, says so when it
// holds nothing, and reports the peer's close.
func TestTryRead(t *testing.T) {
	fds, clients := socketPairs(t, 1)
	buf := make([]byte, 16)
	if n, err := TryRead(fds[0], buf); n != 0 || !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("empty socket: %d, %v", n, err)
	}
	if _, err := clients[0].Write([]byte("GET / HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 16 && time.Now().Before(deadline) {
		n, err := TryRead(fds[0], buf[len(got):])
		if err != nil && !errors.Is(err, ErrWouldBlock) {
			t.Fatal(err)
		}
		got = buf[:len(got)+n]
	}
	if string(got) != "GET / HTTP/1.1\r\n" {
		t.Fatalf("read %q", got)
	}
	clients[0].Close()
	for {
		n, err := TryRead(fds[0], buf)
		if errors.Is(err, ErrWouldBlock) && time.Now().Before(deadline) {
			continue
		}
		if n != 0 || err != io.EOF {
			t.Fatalf("after close: %d, %v", n, err)
		}
		break
	}
}
