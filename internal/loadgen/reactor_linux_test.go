package loadgen

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// socketConn returns a reactor connection reading one end of a socket
// pair, chunked, into a new account, the account, and the other end, for
// writing, which the caller closes.
func socketConn(t *testing.T, delivered *atomic.Uint64) (*reactorConn, *account, int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	acc := newAccount(markerOf(newRunID()), delivered)
	return &reactorConn{fd: fds[0], parser: newBodyParser(respHead{length: -1, chunked: true}), scan: acc.scan,
		done: make(chan struct{})}, acc, fds[1]
}

// writeAll writes b to the non-blocking fd.
func writeAll(t *testing.T, fd int, b []byte) {
	t.Helper()
	if n, err := syscall.Write(fd, b); err != nil || n != len(b) {
		t.Fatalf("write: %d of %d bytes: %v", n, len(b), err)
	}
}

// running counts the pool's reactors whose goroutine runs.
func running(p *reactorPool) int {
	n := 0
	for _, r := range p.reactors {
		r.mu.Lock()
		if r.running {
			n++
		}
		r.mu.Unlock()
	}
	return n
}

// Reactors start with their first connection and stop, their descriptors
// closed, once none is left, without the pool being closed; a later
// connection starts them again.
func TestReactorLifetime(t *testing.T) {
	pool := newReactorPool()
	defer pool.close()
	fds0 := openFDs()
	var delivered atomic.Uint64
	for round := range 2 {
		conns := make([]*reactorConn, 2*len(pool.reactors))
		peers := make([]int, len(conns))
		for i := range conns {
			conns[i], _, peers[i] = socketConn(t, &delivered)
			if err := pool.add(conns[i]); err != nil {
				t.Fatal(err)
			}
		}
		if n := running(pool); n != len(pool.reactors) {
			t.Fatalf("round %d: %d of %d reactors run", round, n, len(pool.reactors))
		}
		for i, c := range conns {
			writeAll(t, peers[i], []byte("0\r\n\r\n"))
			<-c.done
			if c.err != nil {
				t.Errorf("round %d: %v", round, c.err)
			}
		}
		for deadline := time.Now().Add(5 * time.Second); running(pool) > 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: %d reactors still run without a connection", round, running(pool))
			}
		}
		for _, fd := range peers {
			syscall.Close(fd)
		}
		if fds := openFDs(); fds != fds0 {
			t.Fatalf("round %d: %d descriptors open before, %d after", round, fds0, fds)
		}
	}
}

// Closing the pool ends the connections still read with net.ErrClosed,
// and a connection added afterwards is refused.
func TestReactorPoolClose(t *testing.T) {
	pool := newReactorPool()
	var delivered atomic.Uint64
	c, _, peer := socketConn(t, &delivered)
	defer syscall.Close(peer)
	if err := pool.add(c); err != nil {
		t.Fatal(err)
	}
	pool.close()
	select {
	case <-c.done:
	default:
		t.Fatal("close returned before the connection ended")
	}
	if !errors.Is(c.err, net.ErrClosed) {
		t.Fatalf("connection ended with %v; want net.ErrClosed", c.err)
	}
	late, _, latePeer := socketConn(t, &delivered)
	defer syscall.Close(latePeer)
	defer syscall.Close(late.fd) // add does not take it on error
	if err := pool.add(late); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("add after close: %v", err)
	}
}

// Data and the peer's end that are ready at once, in one event, are both
// read: the end comes with no further event.
func TestReactorDataThenEnd(t *testing.T) {
	pool := newReactorPool()
	defer pool.close()
	var delivered atomic.Uint64
	c, acc, peer := socketConn(t, &delivered)
	c.parser = newBodyParser(respHead{length: -1}) // until the connection closes
	writeAll(t, peer, sseEvents(acc.marker, 1, 3))
	syscall.Shutdown(peer, syscall.SHUT_WR)
	if err := pool.add(c); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection's end was not seen")
	}
	syscall.Close(peer)
	if c.err != nil || acc.got != 3 {
		t.Fatalf("ended with %v, %d events; want nil, 3", c.err, acc.got)
	}
}

// Reading and accounting an event allocates nothing, chunked or in
// WebSocket frames with a ping answered now and then: one read per event,
// waited for one by one.
func TestReactorAllocs(t *testing.T) {
	tests := []struct {
		name  string
		ws    bool
		frame func(marker []byte, seq uint64) []byte
		end   []byte
		err   func(error) bool
	}{
		{name: "chunked", frame: func(marker []byte, seq uint64) []byte { return chunk(sseEvents(marker, seq, seq)) },
			end: []byte("0\r\n\r\n"), err: func(err error) bool { return err == nil }},
		{name: "websocket", ws: true, frame: func(marker []byte, seq uint64) []byte {
			f := wsText1(string(appendPayload([]byte(`{"b":"`), marker, time.Now().UnixNano(), seq, 20)) + `"}`)
			if seq%10 == 0 {
				f = append(f, wsFrame(true, wsPing, "p", 0)...)
			}
			return f
		}, end: wsFrame(true, wsClose, "\x03\xe8", 0), err: func(err error) bool {
			var ce *wsCloseError
			return errors.As(err, &ce) && ce.code == 1000
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pool := newReactorPool()
			defer pool.close()
			var delivered atomic.Uint64
			c, acc, peer := socketConn(t, &delivered)
			defer syscall.Close(peer)
			if tc.ws {
				c.parser = newWSParser(func(f []byte) error {
					_, err := syscall.Write(c.fd, f)
					return err
				})
			}
			acc.scan(appendPayload(nil, acc.marker, time.Now().UnixNano(), 4096, 0)) // grows the bitset
			if err := pool.add(c); err != nil {
				t.Fatal(err)
			}
			const events = 2000
			frames := make([][]byte, events+1)
			for seq := range uint64(len(frames)) {
				frames[seq] = tc.frame(acc.marker, seq)
			}
			writeAll(t, peer, frames[1]) // the reactor's first read, then measure
			waitCount(t, &delivered, 2)

			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			for seq := uint64(2); seq <= events; seq++ {
				writeAll(t, peer, frames[seq])
				for delivered.Load() < seq+1 {
					runtime.Gosched()
				}
			}
			runtime.ReadMemStats(&m1)
			if per := float64(m1.Mallocs-m0.Mallocs) / events; per > 0.01 {
				t.Errorf("%.3f allocations per event", per)
			}
			writeAll(t, peer, tc.end)
			<-c.done
			if !tc.err(c.err) {
				t.Errorf("ended with %v", c.err)
			}
			if acc.got != events+1 || acc.dups != 0 {
				t.Fatalf("got %d dups %d", acc.got, acc.dups)
			}
			if tc.ws { // a pong per ping, then the close's answer
				want := bytes.Repeat(newWSParser(nil).frame(wsPong, []byte("p")), events/10)
				want = append(want, newWSParser(nil).frame(wsClose, []byte("\x03\xe8"))...)
				got := make([]byte, len(want)+1)
				n, _ := syscall.Read(peer, got)
				n = max(n, 0)
				if !bytes.Equal(got[:n], want) {
					t.Errorf("the server got % x…, %d bytes; want %d", got[:min(n, 16)], n, len(want))
				}
			}
		})
	}
}

// readWithin reads what the non-blocking fd receives within d.
func readWithin(fd int, d time.Duration) string {
	var got []byte
	buf := make([]byte, 64)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		n, err := syscall.Read(fd, buf)
		if n > 0 {
			got = append(got, buf[:n]...)
			continue
		}
		if err != syscall.EAGAIN {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return string(got)
}

// A delayed send is written once its time comes, and never on a
// connection that has ended meanwhile, even one whose fd a new connection
// of the same reactor has taken.
func TestReactorSendAfter(t *testing.T) {
	pool := newReactorPool()
	defer pool.close()
	var delivered atomic.Uint64
	c1, _, peer1 := socketConn(t, &delivered)
	if err := pool.add(c1); err != nil {
		t.Fatal(err)
	}
	c1.sendAfter(10*time.Millisecond, []byte("hello"))
	if got := readWithin(peer1, 500*time.Millisecond); got != "hello" {
		t.Fatalf("peer read %q; want hello", got)
	}
	c1.sendAfter(100*time.Millisecond, []byte("late"))
	syscall.Close(peer1) // c1 ends at its reactor
	<-c1.done
	c2, _, peer2 := socketConn(t, &delivered)
	defer syscall.Close(peer2)
	if c2.fd != c1.fd {
		t.Fatalf("the new connection has fd %d, not the ended one's %d", c2.fd, c1.fd)
	}
	if err := pool.add(c2); err != nil {
		t.Fatal(err)
	}
	if got := readWithin(peer2, 300*time.Millisecond); got != "" {
		t.Fatalf("the new connection's peer read %q", got)
	}
	c2.drop()
	<-c2.done
}
