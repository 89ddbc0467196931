package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// pollServer is the server's end of one poll receiver's connection, read
// and written by hand.
type pollServer struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// openPoll dials a poll receiver in countingDialect, read by pool, whose
// first poll (/p/0) run sends, and accepts its connection.
func openPoll(t *testing.T, pool *reactorPool) (*pollReceiver, *pollServer) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := dialHTTP(context.Background(), &url.URL{Scheme: "http", Host: ln.Addr().String()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		c.close()
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	r, p := newPollReceiver(c, pool, &countingDialect{}, "/p", "X-Key: k\r\n")
	r.first = p.start([]byte("/p/0"))
	return r, &pollServer{t: t, conn: sc, r: bufio.NewReader(sc)}
}

// poll reads the next request, which must ask for target.
func (s *pollServer) poll(target string) {
	s.t.Helper()
	s.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	req, err := http.ReadRequest(s.r)
	if err != nil {
		s.t.Fatalf("want a poll for %s: %v", target, err)
	}
	if req.Method != "GET" || req.RequestURI != target || req.Header.Get("X-Key") != "k" {
		s.t.Fatalf("got %s %s with key %q; want GET %s with key k", req.Method, req.RequestURI, req.Header.Get("X-Key"), target)
	}
}

func (s *pollServer) answer(a []byte) {
	s.t.Helper()
	writeCut(s.t, s.conn, a)
}

// answer200 frames body as a 200 answer, chunked or with a length.
func answer200(body []byte, chunked bool) []byte {
	if chunked {
		return fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s0\r\n\r\n", chunk(body))
	}
	return fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// Each answer's events reach the account, and each poll asks for what the
// dialect says; a poll the server answers with 429 goes again, from the
// reactor, after the wait; the server's close ends run with an error. The
// account counts every answer a request, and those with events batches.
func TestPollReceiverPolls(t *testing.T) {
	pool := newReactorPool()
	defer pool.close()
	marker := markerOf(newRunID())
	r, s := openPoll(t, pool)
	var delivered atomic.Uint64
	acc, done := runAsync(r, marker, &delivered)
	s.poll("/p/0")
	s.answer([]byte("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 5\r\n\r\nslow!"))
	s.poll("/p/0")
	s.answer(answer200(sseEvents(marker, 1, 3), true))
	s.poll("/p/1")
	waitCount(t, &delivered, 3)
	s.answer([]byte("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"))
	s.poll("/p/1")
	s.answer(answer200(sseEvents(marker, 4, 9), false))
	s.poll("/p/2")
	s.answer(answer200([]byte(`{"events":[]}`), false)) // a wait that found nothing
	s.poll("/p/3")
	waitCount(t, &delivered, 9)
	s.conn.Close()
	if err := waitErr(t, done); err == nil {
		t.Error("run ended without an error")
	}
	if acc.got != 9 || acc.dups != 0 {
		t.Errorf("%d events, %d twice; want 9, 0", acc.got, acc.dups)
	}
	if acc.requests != 5 || acc.batches != 2 {
		t.Errorf("%d polls answered, %d with events; want 5, 2", acc.requests, acc.batches)
	}
}

// pollingOnce opens a poll receiver, runs it, and answers its first poll
// with one event: it returns once the receiver's second poll waits on s.
func pollingOnce(t *testing.T, pool *reactorPool, marker []byte) (*pollReceiver, *pollServer, <-chan error) {
	t.Helper()
	r, s := openPoll(t, pool)
	var delivered atomic.Uint64
	_, done := runAsync(r, marker, &delivered)
	s.poll("/p/0")
	s.answer(answer200(sseEvents(marker, 1, 1), false))
	s.poll("/p/1")
	waitCount(t, &delivered, 1)
	return r, s, done
}

// close ends run promptly while a poll waits on the server and while a
// retry waits to be sent, and before run starts; no descriptor is left.
func TestPollReceiverClose(t *testing.T) {
	fds0 := openFDs()
	pool := newReactorPool()
	marker := markerOf(newRunID())
	t.Run("waiting", func(t *testing.T) {
		r, _, done := pollingOnce(t, pool, marker)
		r.close()
		if err := waitErr(t, done); !errors.Is(err, net.ErrClosed) {
			t.Errorf("run: %v; want net.ErrClosed", err)
		}
		r.close() // again: nothing happens
	})
	t.Run("retrying", func(t *testing.T) {
		r, s, done := pollingOnce(t, pool, marker)
		s.answer([]byte("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n"))
		time.Sleep(10 * time.Millisecond) // the answer is read, the retry waits
		r.close()
		if err := waitErr(t, done); !errors.Is(err, net.ErrClosed) {
			t.Errorf("run: %v; want net.ErrClosed", err)
		}
		// The retry's time comes and goes (its timer is done with before
		// the test ends): nothing is written on the closed connection,
		// and the server sees its end.
		time.Sleep(1100 * time.Millisecond)
		s.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		if b, err := s.r.ReadByte(); err != io.EOF {
			t.Errorf("read %q, %v after close; want EOF", b, err)
		}
	})
	t.Run("before run", func(t *testing.T) {
		r, _ := openPoll(t, pool)
		r.close()
		var delivered atomic.Uint64
		_, done := runAsync(r, marker, &delivered)
		if err := waitErr(t, done); err == nil {
			t.Error("run after close succeeded")
		}
	})
	pool.close()
	if fds0 >= 0 {
		if fds1 := openFDs(); fds1 != fds0 {
			t.Errorf("%d descriptors open before, %d after", fds0, fds1)
		}
	}
}
