package loadgen

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsRawServer is an httptest server whose handler hijacks each request's
// connection and hands it to the test with the request, so that the test
// answers the WebSocket handshake, and writes the frames, by hand.
type wsRawServer struct {
	*httptest.Server
	peers chan wsPeer
}

// wsPeer is the server's end of one connection and the request it carried.
type wsPeer struct {
	net.Conn
	req *http.Request
}

func newWSRawServer(t *testing.T) *wsRawServer {
	s := &wsRawServer{peers: make(chan wsPeer, 64)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		s.peers <- wsPeer{Conn: c, req: r}
	}))
	t.Cleanup(s.Close)
	return s
}

// dial opens a WebSocket receiver read by pool, with the extra header
// line "X-Test: 1", and answers its handshake with answer(request). It
// returns the receiver (or the dial's error) and the server's end of the
// connection, which the test closes.
func (s *wsRawServer) dial(t *testing.T, pool *reactorPool, answer func(*http.Request) string) (*streamReceiver, wsPeer, error) {
	t.Helper()
	u, _ := url.Parse(s.URL + "/ws?topics=a")
	type dialed struct {
		r   *streamReceiver
		err error
	}
	ch := make(chan dialed, 1)
	go func() {
		r, err := dialWS(context.Background(), pool, u, nil, "X-Test: 1\r\n")
		ch <- dialed{r, err}
	}()
	p := <-s.peers
	t.Cleanup(func() { p.Close() })
	if _, err := io.WriteString(p, answer(p.req)); err != nil {
		t.Fatal(err)
	}
	d := <-ch
	return d.r, p, d.err
}

// open is dial for an answer that must succeed: the switch to WebSocket,
// then first.
func (s *wsRawServer) open(t *testing.T, pool *reactorPool, first string) (*streamReceiver, wsPeer) {
	t.Helper()
	r, p, err := s.dial(t, pool, func(req *http.Request) string { return wsSwitch(req) + first })
	if err != nil {
		t.Fatal(err)
	}
	return r, p
}

// wsSwitch is the answer that switches req's connection to WebSocket.
func wsSwitch(req *http.Request) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		wsAcceptOf(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
}

func wsAcceptOf(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// wsEvents returns events from..to (inclusive) as text frames, each
// carrying its token, sent now. Every fifth event is cut into three
// fragments with a ping, whose payload is its sequence number, between the
// first two; pings lists those payloads.
func wsEvents(marker []byte, from, to uint64) (frames []byte, pings []string) {
	for seq := from; seq <= to; seq++ {
		p := string(appendPayload([]byte(`{"b":"`), marker, time.Now().UnixNano(), seq, 20)) + `"}`
		if seq%5 != 0 {
			frames = append(frames, wsText1(p)...)
			continue
		}
		ping := fmt.Sprint(seq)
		pings = append(pings, ping)
		frames = append(frames, wsFrame(false, wsText, p[:10], 0)...)
		frames = append(frames, wsFrame(true, wsPing, ping, 0)...)
		frames = append(frames, wsFrame(false, wsContinuation, p[10:30], 0)...)
		frames = append(frames, wsFrame(true, wsContinuation, p[30:], 0)...)
	}
	return frames, pings
}

// readReplies reads the client frames the server's end gets until it has
// n, and returns them unmasked, as unmaskReply does.
func readReplies(t *testing.T, c net.Conn, n int) []string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var got []string
	var hdr [2]byte
	for len(got) < n {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			t.Fatalf("after %d of %d replies: %v", len(got), n, err)
		}
		f := make([]byte, 6+hdr[1]&0x7F)
		copy(f, hdr[:])
		if _, err := io.ReadFull(c, f[2:]); err != nil {
			t.Fatalf("after %d of %d replies: %v", len(got), n, err)
		}
		r, err := unmaskReply(f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	return got
}

// pongs returns the replies that answer pings.
func pongs(pings []string) []string {
	r := make([]string, len(pings))
	for i, p := range pings {
		r[i] = "a " + p
	}
	return r
}

// Every event reaches the account once, in frames cut everywhere by the
// writes, some with the handshake's answer, one with a 64-bit length;
// every ping between fragments gets its pong, before the handoff to a
// reactor and after. The stream ends with an error: the server's close
// (answered with a close), the connection's end, a malformed frame.
func TestWSReceiverStreams(t *testing.T) {
	marker := markerOf(newRunID())
	const events = 200
	first, firstPings := wsEvents(marker, 1, 5)
	rest, restPings := wsEvents(marker, 6, events-1)
	big := wsText1(string(appendPayload(nil, marker, time.Now().UnixNano(), events, 70000)))
	rest = append(rest, big...)
	tests := []struct {
		name    string
		end     []byte // written last
		closeIt bool   // then the server closes the connection
		reply   string // the client's answer to end
		check   func(error) bool
	}{
		{name: "close frame", end: wsFrame(true, wsClose, "\x0f\xa0bye", 0), reply: "8 \x0f\xa0",
			check: func(err error) bool {
				var ce *wsCloseError
				return errors.As(err, &ce) && ce.code == 4000 && ce.reason == "bye"
			}},
		{name: "connection closed", closeIt: true, check: func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }},
		{name: "malformed", end: wsFrame(true, 0x7, "", 0), check: func(err error) bool { return errors.Is(err, errWSMalformed) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newWSRawServer(t)
			pool := newReactorPool()
			defer pool.close()
			r, c := s.open(t, pool, string(first))
			var delivered atomic.Uint64
			acc, done := runAsync(r, marker, &delivered)
			if got := readReplies(t, c, len(firstPings)); fmt.Sprint(got) != fmt.Sprint(pongs(firstPings)) {
				t.Errorf("pongs to the pings with the head: %q; want %q", got, pongs(firstPings))
			}
			writeCut(t, c, rest)
			waitCount(t, &delivered, events)
			if got := readReplies(t, c, len(restPings)); fmt.Sprint(got) != fmt.Sprint(pongs(restPings)) {
				t.Errorf("pongs: %q; want %q", got, pongs(restPings))
			}
			c.Write(tc.end)
			if tc.reply != "" {
				if got := readReplies(t, c, 1); got[0] != tc.reply {
					t.Errorf("reply to the end: %q; want %q", got[0], tc.reply)
				}
			}
			if tc.closeIt {
				c.Close()
			}
			if err := waitErr(t, done); !tc.check(err) {
				t.Errorf("run: %v", err)
			}
			if acc.got != events || acc.dups != 0 {
				t.Errorf("got %d dups %d; want %d, 0", acc.got, acc.dups, events)
			}
		})
	}
}

// The handshake is a GET with the upgrade's headers and the mode's own; an
// answer other than a switch to WebSocket that proves it read the key is
// an error that says what came, and leaves no descriptor open.
func TestWSReceiverHandshake(t *testing.T) {
	s := newWSRawServer(t)
	pool := newReactorPool()
	defer pool.close()
	fds0 := openFDs()
	t.Run("request", func(t *testing.T) {
		r, c := s.open(t, pool, "")
		defer r.close()
		h := c.req.Header
		key, err := base64.StdEncoding.DecodeString(h.Get("Sec-WebSocket-Key"))
		switch {
		case c.req.Method != http.MethodGet, c.req.URL.RequestURI() != "/ws?topics=a":
			t.Errorf("request %s %s", c.req.Method, c.req.URL.RequestURI())
		case !strings.EqualFold(h.Get("Connection"), "upgrade"), !strings.EqualFold(h.Get("Upgrade"), "websocket"),
			h.Get("Sec-WebSocket-Version") != "13", h.Get("X-Test") != "1":
			t.Errorf("header %v", h)
		case err != nil || len(key) != 16:
			t.Errorf("key %q: %d bytes, %v", h.Get("Sec-WebSocket-Key"), len(key), err)
		}
	})
	tests := []struct {
		name   string
		answer func(*http.Request) string
		status int // a *statusError of this status; 0: another error
		want   string
	}{
		{name: "refused", status: 403, want: "no key here", answer: func(*http.Request) string {
			return "HTTP/1.1 403 Forbidden\r\nContent-Length: 11\r\n\r\nno key here"
		}},
		{name: "not upgraded", status: 200, answer: func(*http.Request) string {
			return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
		}},
		{name: "wrong accept", want: "Sec-WebSocket-Accept", answer: func(*http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
				wsAcceptOf("another key") + "\r\n\r\n"
		}},
		{name: "no accept", want: "Sec-WebSocket-Accept", answer: func(*http.Request) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		}},
		{name: "another protocol", want: "h2c", answer: func(req *http.Request) string {
			return strings.Replace(wsSwitch(req), "Upgrade: websocket", "Upgrade: h2c", 1)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, c, err := s.dial(t, pool, tc.answer)
			c.Close()
			if err == nil {
				r.close()
				t.Fatal("the handshake succeeded")
			}
			var se *statusError
			if got := errors.As(err, &se); got != (tc.status != 0) || (got && se.status != tc.status) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want status %d, %q", err, tc.status, tc.want)
			}
		})
	}
	if fds0 >= 0 {
		if fds1 := openFDs(); fds1 != fds0 {
			t.Errorf("%d descriptors open before, %d after", fds0, fds1)
		}
	}
}

// close ends run promptly, however far run has got (see testReceiverClose).
func TestWSReceiverClose(t *testing.T) {
	s := newWSRawServer(t)
	open := func(t *testing.T, pool *reactorPool, first string) (*streamReceiver, net.Conn) {
		r, peer := s.open(t, pool, first)
		return r, peer.Conn
	}
	testReceiverClose(t, open, "", func(marker []byte, from, to uint64) []byte {
		frames, _ := wsEvents(marker, from, to) // a ping among five
		return frames
	})
}

// Against another implementation's server (coder/websocket): every token
// is accounted once, in whole messages, fragmented ones and a long one;
// the server's pings, between fragments too, get their pongs; close ends
// an idle stream promptly; the server's close ends run with its code, and
// the closing handshake completes.
func TestWSReceiverCoderServer(t *testing.T) {
	marker := markerOf(newRunID())
	conns := make(chan *websocket.Conn, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Test") != "1" {
			http.Error(w, "no X-Test", http.StatusForbidden)
			return
		}
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		c.CloseRead(context.Background()) // reads the pongs and the close
		conns <- c
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/ws")
	pool := newReactorPool()
	defer pool.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var delivered atomic.Uint64
	open := func() (*streamReceiver, *websocket.Conn, *account, <-chan error) {
		t.Helper()
		r, err := dialWS(ctx, pool, u, nil, "X-Test: 1\r\n")
		if err != nil {
			t.Fatal(err)
		}
		c := <-conns
		t.Cleanup(func() { c.CloseNow() })
		acc, done := runAsync(r, marker, &delivered)
		return r, c, acc, done
	}
	r, c, acc, done := open()
	idle, idleConn, _, idleDone := open()

	const events = 300
	for seq := uint64(1); seq <= events; seq++ {
		p := appendPayload([]byte(`{"b":"`), marker, time.Now().UnixNano(), seq, 10)
		switch {
		case seq == events:
			p = appendPayload(nil, marker, time.Now().UnixNano(), seq, 70000)
			fallthrough
		case seq%3 != 0:
			if err := c.Write(ctx, websocket.MessageText, p); err != nil {
				t.Fatal(err)
			}
		default:
			w, err := c.Writer(ctx, websocket.MessageText)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(p[:7])
			if seq%2 == 0 {
				if err := c.Ping(ctx); err != nil { // the fragment is flushed with the ping
					t.Fatalf("ping between fragments: %v", err)
				}
			}
			w.Write(p[7:])
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	waitCount(t, &delivered, events)

	start := time.Now()
	idle.close()
	if err := waitErr(t, idleDone); !errors.Is(err, net.ErrClosed) {
		t.Errorf("idle run: %v; want net.ErrClosed", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("idle run returned %v after close", d)
	}
	idleConn.CloseNow()

	if err := c.Close(4000, "bye"); err != nil {
		t.Errorf("the server's close: %v", err)
	}
	var ce *wsCloseError
	if err := waitErr(t, done); !errors.As(err, &ce) || ce.code != 4000 || ce.reason != "bye" {
		t.Errorf("run: %v; want the close, code 4000", err)
	}
	r.close()
	if acc.got != events || acc.dups != 0 || delivered.Load() != events {
		t.Errorf("got %d dups %d delivered %d; want %d, 0, %d", acc.got, acc.dups, delivered.Load(), events, events)
	}
}

// unmaskReply is checked too: it must see a frame the parser did not mask.
func TestUnmaskReply(t *testing.T) {
	if _, err := unmaskReply(wsFrame(true, wsPong, "x", 0)); err == nil {
		t.Fatal("an unmasked frame passed")
	}
	if got, err := unmaskReply(newWSParser(nil).frame(wsPong, []byte("hello"))); err != nil || got != "a hello" {
		t.Fatalf("%q, %v", got, err)
	}
	if !bytes.Equal(newWSParser(nil).frame(wsPong, nil), []byte{0x8A, 0x80, 0x68, 0x62, 0x6d, 0x6b}) {
		t.Fatal("the empty pong is not what RFC 6455 makes of it")
	}
}
