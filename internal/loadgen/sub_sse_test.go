package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The heads of the answers the tests' server writes.
const (
	headChunked = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	headClose   = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
)

// rawServer is an httptest server whose handler hijacks each request's
// connection and hands it to the test, which writes the answer by hand:
// its framing, and where its writes cut it, are the test's.
type rawServer struct {
	*httptest.Server
	conns chan net.Conn
}

func newRawServer(t *testing.T) *rawServer {
	s := &rawServer{conns: make(chan net.Conn, 64)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		s.conns <- c
	}))
	t.Cleanup(s.Close)
	return s
}

// open dials an SSE receiver read by pool, answers it with first (the head
// and maybe the start of the body, in one write) and returns the receiver
// and the server's end of its connection, which the test closes.
func (s *rawServer) open(t *testing.T, pool *reactorPool, first string) (*streamReceiver, net.Conn) {
	t.Helper()
	u, _ := url.Parse(s.URL + "/stream")
	type dialed struct {
		r   *streamReceiver
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		r, err := dialSSE(context.Background(), pool, u, nil, "")
		ch <- dialed{r, err}
	}()
	c := <-s.conns
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, first); err != nil {
		t.Fatal(err)
	}
	d := <-ch
	if d.err != nil {
		t.Fatal(d.err)
	}
	return d.r, c
}

// sseEvents returns events from..to (inclusive) as SSE, each carrying its
// token, sent now.
func sseEvents(marker []byte, from, to uint64) []byte {
	var b []byte
	for seq := from; seq <= to; seq++ {
		b = fmt.Appendf(b, "id: %d\nevent: bench\ndata: {\"b\":\"", seq)
		b = appendPayload(b, marker, time.Now().UnixNano(), seq, 20)
		b = append(b, "\"}\n\n"...)
	}
	return b
}

// chunk frames b as one chunk, with an extension now and then.
func chunk(b []byte) []byte {
	ext := ""
	if len(b)%3 == 0 {
		ext = ";n=v"
	}
	return fmt.Appendf(nil, "%x%s\r\n%s\r\n", len(b), ext, b)
}

// writeCut writes b in pieces of 1 to 37 bytes, pausing now and then, so
// that the reader sees the framing cut everywhere, size lines included.
func writeCut(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	for i, n := 0, 1; len(b) > 0; i, n = i+1, n%37+1 {
		k := min(n, len(b))
		if _, err := c.Write(b[:k]); err != nil {
			t.Fatal(err)
		}
		b = b[k:]
		if i%16 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

// runAsync runs r into a new account and returns it and run's result.
func runAsync(r receiver, marker []byte, delivered *atomic.Uint64) (*account, <-chan error) {
	acc := newAccount(marker, delivered)
	done := make(chan error, 1)
	go func() { done <- r.run(acc) }()
	return acc, done
}

// waitErr waits for run's result, failing after a while.
func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return")
		return nil
	}
}

// waitCount waits until n reaches want.
func waitCount(t *testing.T, n *atomic.Uint64, want uint64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); n.Load() < want; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered", n.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// Every event reaches the account once, over chunked, Content-Length and
// until-close bodies, whichever bytes come with the head and however the
// writes cut the stream; a body that ends, or a server that closes the
// connection, ends run with an error.
func TestSSEReceiverStreams(t *testing.T) {
	marker := markerOf(newRunID())
	const events = 200
	first, rest := sseEvents(marker, 1, 3), sseEvents(marker, 4, events)
	var chunkedRest []byte
	for i := 0; i < len(rest); i += 150 { // chunks cut across the events
		chunkedRest = append(chunkedRest, chunk(rest[i:min(i+150, len(rest))])...)
	}
	length := len(first) + len(rest)
	tests := []struct {
		name      string
		first     string // the head and what comes with it
		rest      []byte // written in small pieces
		end       string // written last
		closeConn bool   // then the server closes the connection
		got       uint64
		check     func(error) bool
	}{
		{name: "chunked", first: headChunked + string(chunk(first)), rest: chunkedRest,
			end: "0\r\nX-Trailer: 1\r\n\r\n", got: events, check: isStreamEnded},
		{name: "chunked, nothing with the head", first: headChunked, rest: append(chunk(first), chunkedRest...),
			end: "0\r\n\r\n", got: events, check: isStreamEnded},
		{name: "chunked, connection closed", first: headChunked + string(chunk(first)), rest: chunkedRest,
			closeConn: true, got: events, check: func(err error) bool { return err != nil && !isStreamEnded(err) }},
		{name: "chunked, cut inside a chunk", first: headChunked + string(chunk(first)), rest: chunkedRest[:len(chunkedRest)-40],
			closeConn: true, got: events - 1, check: func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{name: "chunked, malformed", first: headChunked + string(chunk(first)), end: "zz\r\n",
			got: 3, check: func(err error) bool { return errors.Is(err, errMalformed) }},
		{name: "content length", first: "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(length) + "\r\n\r\n" + string(first),
			rest: rest, got: events, check: isStreamEnded},
		{name: "until close", first: headClose + string(first), rest: rest,
			closeConn: true, got: events, check: isStreamEnded},
		{name: "until close, HTTP/1.0", first: "HTTP/1.0 200 OK\r\n\r\n", rest: append(first, rest...),
			closeConn: true, got: events, check: isStreamEnded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newRawServer(t)
			pool := newReactorPool()
			defer pool.close()
			r, c := s.open(t, pool, tc.first)
			var delivered atomic.Uint64
			acc, done := runAsync(r, marker, &delivered)
			writeCut(t, c, tc.rest)
			io.WriteString(c, tc.end)
			if tc.closeConn {
				c.Close()
			}
			err := waitErr(t, done)
			if !tc.check(err) {
				t.Errorf("run: %v", err)
			}
			if acc.got != tc.got || acc.dups != 0 || delivered.Load() != tc.got {
				t.Errorf("got %d dups %d delivered %d; want %d, 0, %d", acc.got, acc.dups, delivered.Load(), tc.got, tc.got)
			}
		})
	}
}

func isStreamEnded(err error) bool { return err != nil && err.Error() == "the stream ended" }

// A connection reset by the server ends run with the reset.
func TestSSEReceiverReset(t *testing.T) {
	marker := markerOf(newRunID())
	s := newRawServer(t)
	pool := newReactorPool()
	defer pool.close()
	r, c := s.open(t, pool, headClose)
	var delivered atomic.Uint64
	_, done := runAsync(r, marker, &delivered)
	c.Write(sseEvents(marker, 1, 1))
	waitCount(t, &delivered, 1)
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	if err := waitErr(t, done); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("run: %v; want a reset", err)
	}
}

// Many streams share the reactors, and each gets every event once.
func TestSSEReceiverMany(t *testing.T) {
	marker := markerOf(newRunID())
	const subs, events = 40, 50
	s := newRawServer(t)
	pool := newReactorPool()
	defer pool.close()
	var delivered atomic.Uint64
	accts := make([]*account, subs)
	dones := make([]<-chan error, subs)
	conns := make([]net.Conn, subs)
	for i := range subs {
		head := headClose
		if i%2 == 0 {
			head = headChunked
		}
		var r *streamReceiver
		r, conns[i] = s.open(t, pool, head)
		accts[i], dones[i] = runAsync(r, marker, &delivered)
	}
	for seq := uint64(1); seq <= events; seq++ {
		ev := sseEvents(marker, seq, seq)
		for i, c := range conns {
			b := ev
			if i%2 == 0 {
				b = chunk(ev)
			}
			if _, err := c.Write(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitCount(t, &delivered, subs*events)
	for i, c := range conns {
		if i%2 == 0 {
			io.WriteString(c, "0\r\n\r\n")
		}
		c.Close()
	}
	for i := range subs {
		if err := waitErr(t, dones[i]); !isStreamEnded(err) {
			t.Errorf("subscriber %d: %v", i, err)
		}
		if a := accts[i]; a.got != events || a.dups != 0 {
			t.Errorf("subscriber %d: got %d dups %d", i, a.got, a.dups)
		}
	}
}

// close ends run promptly, however far run has got (see testReceiverClose).
func TestSSEReceiverClose(t *testing.T) {
	s := newRawServer(t)
	testReceiverClose(t, s.open, headChunked, func(marker []byte, from, to uint64) []byte {
		return chunk(sseEvents(marker, from, to))
	})
}

// openFDs counts the process's open descriptors, or returns -1 where it
// cannot.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// A burst larger than a reactor's buffer is read whole: reads that fill the
// buffer are followed by more.
func TestSSEReceiverBurst(t *testing.T) {
	marker := markerOf(newRunID())
	const events = 5000 // some 600 KB
	s := newRawServer(t)
	pool := newReactorPool()
	defer pool.close()
	r, c := s.open(t, pool, headClose)
	var delivered atomic.Uint64
	acc, done := runAsync(r, marker, &delivered)
	if _, err := c.Write(sseEvents(marker, 1, events)); err != nil {
		t.Fatal(err)
	}
	waitCount(t, &delivered, events)
	c.Close()
	if err := waitErr(t, done); !isStreamEnded(err) {
		t.Errorf("run: %v", err)
	}
	if acc.got != events || acc.dups != 0 {
		t.Errorf("got %d dups %d; want %d, 0", acc.got, acc.dups, events)
	}
}
