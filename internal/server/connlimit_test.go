package server

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/herald-io/herald/internal/framing"
)

func TestConnLimitsFor(t *testing.T) {
	tests := []struct {
		fds           uint64
		total, perAdd int
	}{
		{fds: 400, total: 200, perAdd: 50},   // half kept free
		{fds: 1024, total: 768, perAdd: 192}, // 256 kept free
		{fds: 20000, total: 18750, perAdd: 4687},
		{fds: 1 << 20, total: 983040, perAdd: 245760},
		{fds: 0, total: 15360, perAdd: 3840},             // unknown: as for 16384
		{fds: 1 << 62, total: 15728640, perAdd: 3932160}, // "unlimited": as for 1<<24
		{fds: 3, total: 2, perAdd: 1},                    // at least one per address
	}
	for _, tt := range tests {
		total, perAddr := connLimitsFor(tt.fds)
		if total != tt.total || perAddr != tt.perAdd {
			t.Errorf("connLimitsFor(%d) = %d, %d; want %d, %d", tt.fds, total, perAddr, tt.total, tt.perAdd)
		}
	}
	if total, perAddr := DefaultConnLimits(); total <= 0 || perAddr <= 0 || perAddr > total {
		t.Errorf("DefaultConnLimits() = %d, %d", total, perAddr)
	}
}

func TestClientAddr(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 1}, "2001:db8:1:2::"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"}, "fe80::"},
		{&net.UnixAddr{Name: "@x", Net: "unix"}, "invalid IP"},
	}
	for _, tt := range tests {
		if got := clientAddr(tt.addr).String(); got != tt.want {
			t.Errorf("clientAddr(%v) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}

// An accepted connection keeps the socket's methods that herald's fast
// paths look for, and gives its slot back once however often it is closed.
func TestLimitListenerConn(t *testing.T) {
	lim := newConnLimiter(10, 10, slog.New(slog.DiscardHandler))
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := lim.listener(tcp)
	defer ln.Close()
	client, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(syscall.Conn); !ok {
		t.Error("the accepted connection hides SyscallConn")
	}
	if _, ok := c.(interface{ CloseWrite() error }); !ok {
		t.Error("the accepted connection hides CloseWrite")
	}
	if _, ok := c.(io.ReaderFrom); !ok {
		t.Error("the accepted connection hides ReadFrom")
	}
	if framing.SocketFD(c) < 0 && framing.SocketFD(client) >= 0 {
		t.Error("framing.SocketFD finds no socket under the accepted connection")
	}
	a := netip.MustParseAddr("127.0.0.1")
	if open, fromAddr := lim.counts(a); open != 1 || fromAddr != 1 {
		t.Errorf("after Accept: %d open, %d from %s; want 1, 1", open, fromAddr, a)
	}
	c.Close()
	c.Close()
	if open, fromAddr := lim.counts(a); open != 0 || fromAddr != 0 {
		t.Errorf("after two Closes: %d open, %d from %s; want 0, 0", open, fromAddr, a)
	}
}

// Refusals hold no goroutine beyond their timeout, and at most
// maxRefusing at once: more are closed without an answer. Close ends the
// ones being answered and leaves accepted connections open.
func TestLimitListenerRefusals(t *testing.T) {
	defer goleak.VerifyNone(t)
	lim := newConnLimiter(1, 0, slog.New(slog.DiscardHandler))
	lim.maxRefusing = 2
	lim.refuseTimeout = time.Minute // only Close ends the answers in this test
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := lim.listener(tcp)
	accepted, acceptDone := acceptAll(ln)
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", tcp.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: herald\r\n\r\n")
		return c
	}

	dial()
	held := <-accepted
	var answered []net.Conn
	for i := range 2 {
		c := dial()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("refused connection %d: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("refused connection %d: %d, want 503", i, resp.StatusCode)
		}
		answered = append(answered, c)
	}
	// Both answers wait for their clients to close: no room for a third.
	c := dial()
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || isTimeout(err) {
		t.Errorf("refused connection over maxRefusing: read %d, %v; want it closed without an answer", n, err)
	}

	if err := ln.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	<-acceptDone
	for i, c := range answered {
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("answered connection %d after Close: %v; want it closed", i, err)
		}
	}
	if _, err := held.Write([]byte("x")); err != nil {
		t.Errorf("accepted connection after Close: %v; want it open", err)
	}
	held.Close()
}
