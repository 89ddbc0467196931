package server_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// A client that trickles a request body is cut once the body timeout has
// passed, whatever the route (open, authenticated, chunked), and the
// server answers others from fresh connections meanwhile.
func TestSlowBodyIsCut(t *testing.T) {
	const bodyTimeout = 500 * time.Millisecond
	s := servertest.Start(t, server.Config{BodyTimeout: bodyTimeout})
	addr := strings.TrimPrefix(s.URL(), "http://")
	tests := []struct {
		name, head string
		drip       []byte // written every few milliseconds
	}{
		{name: "open route", drip: []byte(" "),
			head: "POST /api HTTP/1.1\r\nHost: herald\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"},
		{name: "authenticated route", drip: []byte(" "),
			head: "POST /v1/events HTTP/1.1\r\nHost: herald\r\nAuthorization: Bearer " + s.Admin + "\r\nContent-Length: 1000\r\n\r\n"},
		{name: "chunked body", drip: []byte("1\r\n \r\n"),
			head: "POST /v1/events HTTP/1.1\r\nHost: herald\r\nAuthorization: Bearer " + s.Admin + "\r\nTransfer-Encoding: chunked\r\n\r\n"},
	}
	const perRoute = 4
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)

	type cut struct {
		name   string
		after  time.Duration
		answer string
		err    error
	}
	cuts := make(chan cut, len(tests)*perRoute)
	for _, tt := range tests {
		for range perRoute {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			if _, err := io.WriteString(c, tt.head); err != nil {
				t.Fatal(err)
			}
			wg.Add(2)
			go func() { // the trickle, until the server stops taking it
				defer wg.Done()
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := c.Write(tt.drip); err != nil {
							return
						}
					}
				}
			}()
			go func() { // what the server answers before it closes
				defer wg.Done()
				// Far beyond the body timeout: only a connection the
				// server never cuts reaches it.
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				b, err := io.ReadAll(c)
				cuts <- cut{tt.name, time.Since(start), string(b), err}
			}()
		}
	}

	// Fresh connections are answered while the trickles go on.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	for range 3 {
		resp, err := client.Get(s.URL() + "/healthz")
		if err != nil {
			t.Fatalf("GET /healthz while bodies trickle: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /healthz while bodies trickle: %d", resp.StatusCode)
		}
	}

	for range len(tests) * perRoute {
		c := <-cuts
		// A reset is a close too: the server had unread input.
		if c.err != nil && !errors.Is(c.err, syscall.ECONNRESET) {
			t.Errorf("%s: connection not closed by the server: %v (after %v)", c.name, c.err, c.after.Round(time.Millisecond))
			continue
		}
		t.Logf("%s: closed after %v: %q", c.name, c.after.Round(time.Millisecond), firstLine(c.answer))
		// Whatever the dialect answers, the socket's error text (addresses)
		// stays inside.
		if strings.Contains(c.answer, "127.0.0.1") || strings.Contains(c.answer, "i/o timeout") {
			t.Errorf("%s: the answer leaks the read error: %q", c.name, c.answer)
		}
	}
}

// Over HTTP/2 the body timeout is a deadline on the stream: the handler
// answers, and the connection's other streams go on.
func TestSlowBodyIsCutOverHTTP2(t *testing.T) {
	const bodyTimeout = 500 * time.Millisecond
	s := servertest.Start(t, server.Config{BodyTimeout: bodyTimeout, HTTPSAddr: "127.0.0.1:0"})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certPool(t, s)}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	base := strings.Replace(s.Srv.TLSURL, "127.0.0.1", "localhost", 1)

	body, trickle := io.Pipe()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				trickle.Close()
				return
			case <-tick.C:
				if _, err := trickle.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stop); <-done }()
	req, _ := http.NewRequest("POST", base+"/v1/events", body)
	req.Header.Set("Authorization", "Bearer "+s.Admin)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("trickled POST: %v (after %v); want an answer once the body timeout passed", err, time.Since(start))
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("answered after %v: %s %s %s", time.Since(start).Round(time.Millisecond), resp.Proto, resp.Status, b)
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("trickled POST: %s %s; want HTTP/2 400", resp.Proto, resp.Status)
	}
	if resp, err := client.Get(base + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /healthz on the same connection: %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// The body timeout bounds bodies only: a long-poll that waits longer, and
// an SSE stream, go on, and deliver what is published after it passed.
func TestBodyTimeoutSparesStreams(t *testing.T) {
	const bodyTimeout = 200 * time.Millisecond
	s := servertest.Start(t, server.Config{BodyTimeout: bodyTimeout})
	n := &node{Server: s.Srv, key: s.Admin}

	type polled struct {
		status int
		body   string
		err    error
	}
	poll := make(chan polled, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.URL()+"/v1/events?topics=app.>&wait=20s", nil)
		req.Header.Set("Authorization", "Bearer "+s.Admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			poll <- polled{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		poll <- polled{resp.StatusCode, string(b), err}
	}()
	lines := sseLines(t, n, "/v1/stream?topics=app.>")

	// Several body timeouts pass before anything is published.
	time.Sleep(5 * bodyTimeout)
	select {
	case p := <-poll:
		t.Fatalf("the long-poll ended before anything was published: %+v", p)
	default:
	}
	if st := n.call(t, "POST", "/v1/events", `{"topic":"app.late","type":"t","data":{}}`, nil); st != 201 {
		t.Fatalf("publish: %d", st)
	}

	select {
	case p := <-poll:
		if p.err != nil || p.status != 200 || !strings.Contains(p.body, `"app.late"`) {
			t.Errorf("long-poll answered %d %q, %v; want the event published after the body timeout", p.status, p.body, p.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the long-poll did not answer")
	}
	nextLine(t, lines, 10*time.Second, isID)
}

// Over the per-address cap a new connection is answered 429, over the
// overall cap 503, each with Retry-After and Connection: close; a slot
// frees when a connection closes, and another address has its own.
func TestConnectionCaps(t *testing.T) {
	tests := []struct {
		name   string
		cfg    server.Config
		status int
	}{
		{name: "per address", cfg: server.Config{MaxConns: 100, MaxConnsPerAddr: 3}, status: http.StatusTooManyRequests},
		{name: "overall", cfg: server.Config{MaxConns: 3, MaxConnsPerAddr: -1}, status: http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := servertest.Start(t, tt.cfg)
			addr := strings.TrimPrefix(s.URL(), "http://")
			var held []net.Conn
			for i := range 3 {
				c, resp := healthz(t, nil, addr)
				defer c.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("connection %d under the cap: %d", i, resp.StatusCode)
				}
				held = append(held, c)
			}

			c, resp := healthz(t, nil, addr)
			defer c.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Retry-After") == "" || !resp.Close {
				t.Errorf("over the cap: %d, Retry-After %q, close %v; want %d, a Retry-After, Connection: close",
					resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close, tt.status)
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if n, err := c.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("refused connection after the answer: %d, %v; want EOF", n, err)
			}

			if tt.cfg.MaxConnsPerAddr > 0 {
				other := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
				if c, err := other.Dial("tcp", addr); err != nil {
					t.Logf("no second loopback address: %v", err)
				} else {
					c.Close()
					c, resp := healthz(t, other, addr)
					c.Close()
					if resp.StatusCode != 200 {
						t.Errorf("from another address: %d, want 200", resp.StatusCode)
					}
				}
			}

			held[0].Close()
			eventually(t, 10*time.Second, func() string {
				c, resp := healthz(t, nil, addr)
				c.Close()
				if resp.StatusCode != 200 {
					return "after a connection closed, a new one still gets " + resp.Status
				}
				return ""
			})
		})
	}
}

// healthz opens a connection (through d, if not nil), asks GET /healthz on
// it and returns it, still open, with the answer.
func healthz(t *testing.T, d *net.Dialer, addr string) (net.Conn, *http.Response) {
	t.Helper()
	if d == nil {
		d = &net.Dialer{}
	}
	c, err := d.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: herald\r\n\r\n"); err != nil {
		c.Close()
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		t.Fatalf("GET /healthz: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c.SetDeadline(time.Time{})
	return c, resp
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\r\n")
	return l
}
