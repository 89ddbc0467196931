package deliver_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/topic"
)

// pollServer serves, on one mux the engine also serves detached
// connections with:
//
//	GET /p?after=N&wait=D[&slow=1]  a poll: "ids <seq>,<seq>… next <pos>"
//	POST /echo                       the body back
//	GET /chunks                      three flushed chunks
//	GET /nothing                     204
//
// Each answer carries the header X-Served: net/http or engine, so a test
// sees which server read the request.
func pollServer(t *testing.T, c *dialecttest.Core, lim ...deliver.ConnLimits) string {
	t.Helper()
	all, _ := topic.ParseFilter("test.>")
	srv := c.Serve(t, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /p", func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
			wait, _ := time.ParseDuration(q.Get("wait"))
			sub := c.Hub.Subscribe(after, all)
			served(w, r)
			c.Deliver.ServePoll(w, r, deliver.Poll{
				Transport: "test", Sub: sub, Max: 100, Wait: wait, Quick: q.Get("slow") == "",
				Answer: func(w http.ResponseWriter, evs []*hub.Event, err error) {
					if err != nil {
						http.Error(w, err.Error(), http.StatusGone)
						return
					}
					ids := make([]string, len(evs))
					for i, e := range evs {
						ids[i] = strconv.FormatUint(e.Seq, 10)
					}
					fmt.Fprintf(w, "ids %s next %d", strings.Join(ids, ","), sub.Position())
					if tag := q.Get("tag"); tag != "" {
						fmt.Fprintf(w, " tag %s", tag)
					}
				},
			})
		})
		mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
			served(w, r)
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Write(b)
		})
		mux.HandleFunc("GET /chunks", func(w http.ResponseWriter, r *http.Request) {
			served(w, r)
			for i := range 3 {
				fmt.Fprintf(w, "chunk%d;", i)
				w.(http.Flusher).Flush()
			}
		})
		mux.HandleFunc("GET /nothing", func(w http.ResponseWriter, r *http.Request) {
			served(w, r)
			w.WriteHeader(http.StatusNoContent)
		})
	})
	if len(lim) > 0 {
		c.Deliver.SetHandler(srv.Config.Handler, lim[0])
	}
	return strings.TrimPrefix(srv.URL, "http://")
}

// served names, in X-Served, which server read the request: the engine's
// requests have no net/http server in their context.
func served(w http.ResponseWriter, r *http.Request) {
	by := "engine"
	if r.Context().Value(http.ServerContextKey) != nil {
		by = "net/http"
	}
	w.Header().Set("X-Served", by)
}

// client is one raw keep-alive connection.
type client struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn, br: bufio.NewReader(conn)}
}

func (c *client) send(format string, args ...any) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.conn, format, args...); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one response and its body.
func (c *client) read(method string) (*http.Response, string) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, string(b)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A poll that waits parks: net/http gives its connection up, the engine
// answers the poll when an event comes and serves the connection's next
// requests itself — polls, a body, a flushed answer, a 204 — as HTTP/1.1.
func TestParkedPollKeepsItsConnection(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	addr := pollServer(t, c)
	cl := dial(t, addr)

	cl.send("GET /p?after=0&wait=10s HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the poll to park", func() bool { return c.Deliver.ParkedPolls() == 1 })
	publish(t, c, 1, 10) // one: the tail may hand two of one append over apart
	resp, body := cl.read("GET")
	if resp.StatusCode != 200 || body != "ids 1 next 1" || resp.Header.Get("X-Served") != "net/http" {
		t.Fatalf("first poll: %d %q served by %q", resp.StatusCode, body, resp.Header.Get("X-Served"))
	}
	if resp.ContentLength != int64(len(body)) || resp.Close {
		t.Fatalf("first poll: length %d, close %v", resp.ContentLength, resp.Close)
	}
	waitFor(t, "the connection to be idle", func() bool { return c.Deliver.IdleConns() == 1 })

	// Now the engine's: a poll that is answered at once, one that waits.
	cl.send("GET /p?after=0&wait=10s HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body = cl.read("GET"); body != "ids 1 next 1" || resp.Header.Get("X-Served") != "engine" {
		t.Fatalf("second poll: %q served by %q", body, resp.Header.Get("X-Served"))
	}
	cl.send("GET /p?after=1&wait=10s HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the poll to park again", func() bool { return c.Deliver.ParkedPolls() == 1 })
	publish(t, c, 1, 10)
	if _, body = cl.read("GET"); body != "ids 2 next 2" {
		t.Fatalf("third poll: %q", body)
	}
	// Its wait passes with nothing: an empty answer.
	cl.send("GET /p?after=2&wait=50ms HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body = cl.read("GET"); body != "ids  next 2" {
		t.Fatalf("timed-out poll: %q", body)
	}

	cl.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	if resp, body = cl.read("POST"); body != "hello" || resp.Header.Get("X-Served") != "engine" {
		t.Fatalf("echo: %q served by %q", body, resp.Header.Get("X-Served"))
	}
	cl.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
	if _, body = cl.read("POST"); body != "abcde" {
		t.Fatalf("chunked echo: %q", body)
	}
	cl.send("GET /chunks HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body = cl.read("GET"); body != "chunk0;chunk1;chunk2;" || len(resp.TransferEncoding) == 0 {
		t.Fatalf("chunks: %q, transfer encoding %v", body, resp.TransferEncoding)
	}
	cl.send("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ = cl.read("GET"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("nothing: %d", resp.StatusCode)
	}
	cl.send("HEAD /p?after=0 HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body = cl.read("HEAD"); resp.ContentLength != int64(len("ids 1,2 next 2")) || body != "" {
		t.Fatalf("head: length %d, body %q", resp.ContentLength, body)
	}
	// A request that asks to close is answered, then the connection ends.
	cl.send("GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if resp, _ = cl.read("GET"); !resp.Close {
		t.Fatal("Connection: close was not answered with close")
	}
	cl.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := cl.br.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after close: read %d, %v", n, err)
	}
}

// A plain HTTP/1.1 connection is the engine's from its first request
// without a body (Adopting): answered, it waits in the engine's idle set and
// its next requests are the engine's. A first request with a body, one
// that closes the connection, or HTTP/1.0, stays net/http's.
func TestAdoptedConnection(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	addr := pollServer(t, c)

	cl := dial(t, addr)
	cl.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
	if resp, body := cl.read("POST"); body != "hi" || resp.Header.Get("X-Served") != "net/http" {
		t.Fatalf("echo: %q served by %q", body, resp.Header.Get("X-Served"))
	}
	cl.send("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := cl.read("GET"); resp.StatusCode != http.StatusNoContent || resp.Close {
		t.Fatalf("nothing: %d, close %v", resp.StatusCode, resp.Close)
	}
	waitFor(t, "the connection to be idle", func() bool { return c.Deliver.IdleConns() == 1 })
	for i := range 3 {
		cl.send("GET /p?after=0 HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, body := cl.read("GET"); body != "ids  next 0" || resp.Header.Get("X-Served") != "engine" {
			t.Fatalf("poll %d: %q served by %q", i, body, resp.Header.Get("X-Served"))
		}
	}
	cl.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nbye")
	if resp, body := cl.read("POST"); body != "bye" || resp.Header.Get("X-Served") != "engine" {
		t.Fatalf("second echo: %q served by %q", body, resp.Header.Get("X-Served"))
	}

	for _, tc := range []struct {
		req  string
		keep bool // net/http keeps it alive
	}{
		{"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
		{"GET /nothing HTTP/1.0\r\nHost: x\r\n\r\n", false},
		{"GET /nothing HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", true},
	} {
		other := dial(t, addr)
		other.send("%s", tc.req)
		resp, _ := other.read("GET")
		if resp.StatusCode != http.StatusNoContent || resp.Close == tc.keep {
			t.Fatalf("%q: %d, close %v", tc.req, resp.StatusCode, resp.Close)
		}
		if tc.keep {
			other.send("%s", tc.req)
			if resp, _ := other.read("GET"); resp.Header.Get("X-Served") != "net/http" {
				t.Fatalf("%q, then another: served by %q", tc.req, resp.Header.Get("X-Served"))
			}
		}
		other.conn.Close()
	}
	// The engine files the adopted connection as idle only after its
	// answer is written, so the count is waited for, not read at once.
	waitFor(t, "only the adopted connection to be idle", func() bool { return c.Deliver.IdleConns() == 1 })
}

// A client that hangs up while the engine serves its request ends the
// request's context, as net/http's background read does: a handler that
// waits is let go.
func TestEngineRequestEndsWhenClientHangsUp(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	ended := make(chan string, 1)
	srv := c.Serve(t, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /nothing", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})
		mux.HandleFunc("GET /hold", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
				ended <- "ended"
			case <-time.After(10 * time.Second):
				ended <- "still held"
			}
		})
	})
	cl := dial(t, strings.TrimPrefix(srv.URL, "http://"))
	cl.send("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n") // adopted: the next request is the engine's
	cl.read("GET")
	waitFor(t, "the connection to be idle", func() bool { return c.Deliver.IdleConns() == 1 })
	cl.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the request to be served", func() bool { return c.Deliver.IdleConns() == 0 })
	time.Sleep(50 * time.Millisecond) // in its handler
	cl.conn.Close()
	if got := <-ended; got != "ended" {
		t.Fatalf("the handler of a request whose client hung up: %s", got)
	}
}

// A poll whose Answer may block (Quick unset) is answered on a goroutine,
// with the same result.
func TestParkedSlowPoll(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	cl := dial(t, pollServer(t, c))
	cl.send("GET /p?after=0&wait=10s&slow=1 HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the poll to park", func() bool { return c.Deliver.ParkedPolls() == 1 })
	publish(t, c, 1, 10)
	if _, body := cl.read("GET"); body != "ids 1 next 1" {
		t.Fatalf("slow poll: %q", body)
	}
	cl.send("GET /p?after=1&wait=10s&slow=1 HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the poll to park again", func() bool { return c.Deliver.ParkedPolls() == 1 })
	publish(t, c, 1, 10)
	if resp, body := cl.read("GET"); body != "ids 2 next 2" || resp.Header.Get("X-Served") != "engine" {
		t.Fatalf("second slow poll: %q by %q", body, resp.Header.Get("X-Served"))
	}
}

// A client that pipelines its next request behind a parked poll gets both
// answers, in order.
func TestPipelinedBehindAParkedPoll(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	addr := pollServer(t, c)
	cl := dial(t, addr)
	cl.send("GET /p?after=0&wait=10s HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the poll to park", func() bool { return c.Deliver.ParkedPolls() == 1 })
	cl.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
	time.Sleep(20 * time.Millisecond) // the poller sees it while the poll is parked
	publish(t, c, 1, 10)
	if _, body := cl.read("GET"); body != "ids 1 next 1" {
		t.Fatalf("poll: %q", body)
	}
	if _, body := cl.read("POST"); body != "hi" {
		t.Fatalf("pipelined echo: %q", body)
	}

	// Sent with the poll, on a connection the engine serves: read with the
	// poll's request, and kept for after its answer.
	cl = dial(t, addr)
	cl.send("GET /p?after=1&wait=20ms HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := cl.read("GET"); body != "ids  next 1" {
		t.Fatalf("poll: %q", body)
	}
	for i := range 3 {
		cl.send("GET /p?after=%d&wait=10s HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nhi%d", 1+i, i)
		waitFor(t, "the poll to park", func() bool { return c.Deliver.ParkedPolls() == 1 })
		publish(t, c, 1, 10)
		if _, body := cl.read("GET"); body != fmt.Sprintf("ids %d next %d", 2+i, 2+i) {
			t.Fatalf("poll %d: %q", i, body)
		}
		if _, body := cl.read("POST"); body != fmt.Sprintf("hi%d", i) {
			t.Fatalf("echo sent with poll %d: %q", i, body)
		}
	}
}

// A client that hangs up while its poll is parked frees it at once: the
// subscription closes and the connection is gone, long before the wait.
func TestParkedPollClientHangsUp(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	cl := dial(t, pollServer(t, c))
	cl.send("GET /p?after=0&wait=1h HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the poll to park", func() bool { return c.Deliver.ParkedPolls() == 1 })
	subs := c.Hub.Subscribers()
	cl.conn.Close()
	waitFor(t, "the parked poll to go", func() bool { return c.Deliver.ParkedPolls() == 0 })
	waitFor(t, "its subscription to close", func() bool { return c.Hub.Subscribers() == subs-1 })
}

// What net/http refuses, the engine refuses on its connections too: an
// unreadable request (400), headers past the limit (431), a missing Host.
func TestDetachedConnRefusesBadRequests(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	addr := pollServer(t, c)
	for _, tc := range []struct{ name, req, status string }{
		{"garbage", "NOT HTTP\r\n\r\n", "400"},
		{"no host", "GET /nothing HTTP/1.1\r\n\r\n", "400"},
		{"two hosts", "GET /nothing HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "400"},
		{"malformed host", "GET /nothing HTTP/1.1\r\nHost: x/y\r\n\r\n", "400"},
		{"huge header", "GET /nothing HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", "431"},
		{"expect", "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx", "417"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := detached(t, c, addr)
			cl.send("%s", tc.req)
			cl.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, err := cl.br.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "HTTP/1.1 "+tc.status+" ") {
				t.Fatalf("status line %q, %v; want %s", line, err, tc.status)
			}
		})
	}
}

// A client that sends Expect: 100-continue gets the interim answer when
// the handler reads the body, then the answer.
func TestDetachedConnContinue(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	cl := detached(t, c, pollServer(t, c))
	cl.send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
	cl.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := cl.br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim answer %q, %v", line, err)
	}
	cl.br.ReadString('\n')
	cl.send("abc")
	if _, body := cl.read("POST"); body != "abc" {
		t.Fatalf("echo after continue: %q", body)
	}
}

// detached returns a connection the engine serves: one whose first poll
// parked and was answered.
func detached(t *testing.T, c *dialecttest.Core, addr string) *client {
	t.Helper()
	cl := dial(t, addr)
	cl.send("GET /p?after=0&wait=20ms HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := cl.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("poll: %d", resp.StatusCode)
	}
	waitFor(t, "the connection to be idle", func() bool { return c.Deliver.IdleConns() >= 1 })
	return cl
}

// At shutdown a parked poll is answered (no events) and its connection
// closed, and idle detached connections close.
func TestShutdownAnswersParkedPolls(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	addr := pollServer(t, c)
	idle := detached(t, c, addr)
	cl := dial(t, addr)
	cl.send("GET /p?after=0&wait=1h HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the poll to park", func() bool { return c.Deliver.ParkedPolls() == 1 })
	c.Stop()
	resp, body := cl.read("GET")
	if body != "ids  next 0" || !resp.Close {
		t.Fatalf("answer at shutdown: %q, close %v", body, resp.Close)
	}
	idle.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idle.br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection at shutdown: %v", err)
	}
}

// The engine's connections idle out as net/http's do.
func TestDetachedConnIdleTimeout(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	addr := pollServer(t, c, deliver.ConnLimits{IdleTimeout: 100 * time.Millisecond})
	cl := detached(t, c, addr)
	cl.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := cl.br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want it closed", err)
	}
	waitFor(t, "no idle connections", func() bool { return c.Deliver.IdleConns() == 0 })
}

// A request whose headers stall is cut off at the header timeout, though
// its first bytes were read without one; the next request on a connection
// gets the whole timeout again.
func TestDetachedConnHeaderTimeout(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	addr := pollServer(t, c, deliver.ConnLimits{HeaderTimeout: 300 * time.Millisecond})
	cl := detached(t, c, addr)
	// Slow but in time: each part comes well within the timeout.
	cl.send("GET /nothing HTTP/1.1\r\n")
	time.Sleep(100 * time.Millisecond)
	cl.send("Host: x\r\n\r\n")
	if resp, _ := cl.read("GET"); resp.StatusCode != http.StatusNoContent || resp.Header.Get("X-Served") != "engine" {
		t.Fatalf("slow headers: %d by %q", resp.StatusCode, resp.Header.Get("X-Served"))
	}
	start := time.Now()
	cl.send("GET /nothing HTTP/1.1\r\nHost: x\r\n") // no blank line
	cl.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(cl.br); err != nil || len(b) > 0 {
		t.Fatalf("stalled headers: %q, %v, want the connection closed", b, err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("closed after %v, before the header timeout", waited)
	}
}

// Polls parked together are answered in one round (with io_uring, in one
// batch), each with its own answer, round after round.
func TestParkedPollsAnsweredTogether(t *testing.T) {
	onWritePaths(t, func(t *testing.T, p writePath) {
		c := newCore(t, p, dialecttest.Options{})
		addr := pollServer(t, c)
		cls := make([]*client, 40)
		for i := range cls {
			cls[i] = dial(t, addr)
		}
		for round := range 3 {
			for i, cl := range cls {
				// Slow ones answer on a goroutine: rounds mix both kinds.
				slow := ""
				if i%7 == 3 {
					slow = "&slow=1"
				}
				tag := strings.Repeat(strconv.Itoa(i), 1+(i+round)%5) // answers of different lengths
				// A wait longer than a read's deadline: the event answers them.
				cl.send("GET /p?after=%d&wait=1m%s&tag=%s HTTP/1.1\r\nHost: x\r\n\r\n", round, slow, tag)
			}
			waitFor(t, "the polls to park", func() bool { return c.Deliver.ParkedPolls() == int64(len(cls)) })
			publish(t, c, 1, 10)
			for i, cl := range cls {
				want := fmt.Sprintf("ids %d next %d tag %s", round+1, round+1, strings.Repeat(strconv.Itoa(i), 1+(i+round)%5))
				if resp, body := cl.read("GET"); body != want || resp.StatusCode != 200 {
					t.Fatalf("round %d, poll %d: %d %q", round, i, resp.StatusCode, body)
				}
			}
		}
	})
}
