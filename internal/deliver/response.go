package deliver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/framing"
)

// maxBuffered is how much of a body a response keeps before it starts
// sending it in chunks: what herald answers is far smaller, and a larger
// answer (a backup) streams.
const maxBuffered = 64 << 10

// response is the http.ResponseWriter of a request read on a detached
// connection (see conn). It keeps the body and writes head and body
// together with the body's length, as net/http does for a small answer;
// one that is flushed or grows past maxBuffered is sent chunked (or as its
// handler's Content-Length says). It supports what herald's handlers use
// through http.ResponseController: Flush, Hijack (streams) and deadlines,
// and ServePoll parks on it without a hijack.
type response struct {
	c      *conn
	br     *bufio.Reader
	head   http.Header
	isHead bool          // a HEAD request: the body's length is sent, not the body
	http11 bool          // the request was HTTP/1.1 (else 1.0: no chunks, no keep-alive)
	body0  io.ReadCloser // the request's body, drained at the end

	status    int
	wrote     bool  // WriteHeader was called
	committed bool  // the head is on the wire
	chunked   bool  // committed with Transfer-Encoding: chunked
	length    int64 // the handler's Content-Length (-1: none)
	body      []byte
	bodyLen   int64 // bytes of body written (HEAD: counted only)
	sent      int64 // body bytes on the wire
	keep      bool  // the connection may serve another request
	err       error

	hijacked bool // Hijack took the connection
	parked   bool // ServePoll took the connection for a poll

	cont *continueReader // the body, when the client waits for 100 Continue
}

func newResponse(c *conn, req *http.Request, br *bufio.Reader) *response {
	req.RemoteAddr = c.remote
	rs := &response{c: c, br: br, head: http.Header{}, status: http.StatusOK, length: -1,
		isHead: req.Method == http.MethodHead, http11: req.ProtoAtLeast(1, 1), body0: req.Body}
	rs.keep = !req.Close && rs.http11
	if req.Body != nil && req.Body != http.NoBody && strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
		rs.cont = &continueReader{rs: rs, r: req.Body}
		req.Body = rs.cont
	}
	return rs
}

// newAnswer is the response of a parked poll, on c, with the headers set
// before it parked; it keeps the connection if keep.
func newAnswer(c *conn, head http.Header, keep bool) *response {
	if head == nil {
		head = http.Header{}
	}
	return &response{c: c, head: head, status: http.StatusOK, length: -1, http11: true, keep: keep}
}

// unwrapResponse finds the engine's response under w's wrappers (the
// middleware's recorders implement Unwrap, as ResponseController needs).
func unwrapResponse(w http.ResponseWriter) (*response, bool) {
	for {
		switch v := w.(type) {
		case *response:
			return v, true
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return nil, false
		}
	}
}

// takeConn hands the connection to a poll that parks on it, with what
// the client sent past the request: once parked, the poll may be answered
// and the connection served by another goroutine at once.
func (rs *response) takeConn() *conn {
	if rs.committed || rs.hijacked {
		return nil
	}
	rs.parked = true
	rs.c.keepEarly(rs.br)
	return rs.c
}

func (rs *response) Header() http.Header { return rs.head }

func (rs *response) WriteHeader(code int) {
	if rs.wrote || rs.hijacked {
		return
	}
	if code < 100 || code > 999 {
		panic("deliver: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		return // informational heads are not sent (net/http sends them; herald's handlers do not use them)
	}
	rs.wrote, rs.status = true, code
	if strings.EqualFold(rs.head.Get("Connection"), "close") {
		rs.keep = false // the handler wants the connection closed after it
	}
	if cl := rs.head.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n >= 0 {
			rs.length = n
		}
	}
}

func (rs *response) Write(p []byte) (int, error) {
	if rs.hijacked || rs.parked {
		return 0, http.ErrHijacked
	}
	if !rs.wrote {
		rs.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(rs.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if rs.err != nil {
		return 0, rs.err
	}
	rs.bodyLen += int64(len(p))
	if rs.isHead {
		return len(p), nil // only its length is sent
	}
	if !rs.committed {
		if len(rs.body)+len(p) <= maxBuffered {
			rs.body = append(rs.body, p...)
			return len(p), nil
		}
		if err := rs.commit(); err != nil {
			return 0, err
		}
	}
	if err := rs.send(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (rs *response) WriteString(s string) (int, error) { return rs.Write([]byte(s)) }

// Flush sends the head and what the body holds so far.
func (rs *response) Flush() { rs.FlushError() }

func (rs *response) FlushError() error {
	if rs.hijacked || rs.parked {
		return http.ErrHijacked
	}
	if !rs.wrote {
		rs.WriteHeader(http.StatusOK)
	}
	if rs.err != nil {
		return rs.err
	}
	if rs.isHead {
		return nil
	}
	if !rs.committed {
		return rs.commit()
	}
	return nil
}

// Hijack hands the connection over, with the reader of what the client
// sends (an SSE stream's or WebSocket's new owner).
func (rs *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if rs.hijacked || rs.parked || rs.committed {
		return nil, nil, http.ErrHijacked
	}
	rs.hijacked = true
	c := rs.c
	c.e.connMu.Lock()
	c.state, c.armed, c.stop = connClosed, false, nil // no longer the engine's
	c.e.connMu.Unlock()
	if c.token != 0 {
		c.e.peer.unwatch(c.fd, c.token)
		c.token = 0
	}
	c.nc.SetDeadline(time.Time{})
	if n := len(c.early); n > 0 {
		// What the client sent behind the request must be in the reader
		// the new owner looks in before it reads the socket.
		rs.br.Peek(min(n, rs.br.Size()))
	}
	return c.nc, bufio.NewReadWriter(rs.br, bufio.NewWriterSize(c.nc, 512)), nil
}

func (rs *response) SetReadDeadline(t time.Time) error {
	rs.c.deadline = true
	return rs.c.nc.SetReadDeadline(t)
}
func (rs *response) SetWriteDeadline(t time.Time) error { return rs.c.nc.SetWriteDeadline(t) }

// EnableFullDuplex: the body may be read while the answer is written;
// nothing here stops that.
func (rs *response) EnableFullDuplex() error { return nil }

// commit puts the head on the wire for a body that streams: with the
// handler's Content-Length, else chunked (HTTP/1.1) or ended by closing.
func (rs *response) commit() error {
	rs.committed = true
	switch {
	case rs.length >= 0 || !bodyAllowed(rs.status):
	case rs.http11:
		rs.chunked = true
		rs.head.Set("Transfer-Encoding", "chunked")
	default:
		rs.keep = false
	}
	buf := rs.appendHead(make([]byte, 0, 512), -1)
	body := rs.body
	rs.body = nil
	if err := rs.write([][]byte{buf}); err != nil {
		return err
	}
	if len(body) > 0 {
		return rs.send(body)
	}
	return nil
}

// send writes body bytes after the head.
func (rs *response) send(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	rs.sent += int64(len(p))
	if rs.chunked {
		size := strconv.AppendInt(make([]byte, 0, 18), int64(len(p)), 16)
		size = append(size, "\r\n"...)
		return rs.write([][]byte{size, p, crlf})
	}
	return rs.write([][]byte{p})
}

var crlf = []byte("\r\n")

// write sends bufs, at once if the socket takes them, else blocking under
// the engine's write timeout.
func (rs *response) write(bufs [][]byte) error {
	if rs.err != nil {
		return rs.err
	}
	c := rs.c
	if c.fd >= 0 {
		var v framing.Vectors
		n, err := v.TryWrite(c.fd, bufs)
		if err == nil {
			return nil
		}
		if !errors.Is(err, framing.ErrWouldBlock) {
			rs.err, rs.keep = err, false
			return err
		}
		bufs = framing.Advance(bufs, n)
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.e.responseTimeout()))
	nb := net.Buffers(bufs)
	_, err := nb.WriteTo(c.nc)
	c.nc.SetWriteDeadline(time.Time{})
	if err != nil {
		rs.err, rs.keep = err, false
	}
	return err
}

// finish ends the response and reports whether the connection may serve
// another request: the body the handler left unread is drained (up to
// maxDrain), the head and body written.
func (rs *response) finish() (keep bool) {
	if !rs.wrote {
		rs.WriteHeader(http.StatusOK)
	}
	rs.drain()
	switch {
	case rs.err != nil:
	case !rs.committed:
		rs.write(rs.parts())
	case rs.chunked:
		rs.write([][]byte{lastChunk})
	case rs.length >= 0 && !rs.isHead && rs.sent < rs.length:
		rs.keep = false // the handler sent less than it said
	}
	return rs.keep && rs.err == nil
}

var lastChunk = []byte("0\r\n\r\n")

// parts is the whole answer of a response never committed: its head and
// its body, written together with one writev (no copy of the body).
func (rs *response) parts() [][]byte {
	head := rs.appendHead(make([]byte, 0, 256), int(rs.bodyLen))
	if body := rs.takeBody(); len(body) > 0 {
		return [][]byte{head, body}
	}
	return [][]byte{head}
}

// takeBody returns the body to send after the head of a response never
// committed (none for HEAD, or a status without one); rs.body keeps the
// buffer, which its owner may use again once the answer is written.
func (rs *response) takeBody() []byte {
	if rs.isHead || !bodyAllowed(rs.status) {
		return nil
	}
	return rs.body
}

// drain reads what is left of the request's body, so the next request
// can be read; a body too long to drain, or one whose client still waits
// for 100 Continue, closes the connection instead.
func (rs *response) drain() {
	body := rs.body0
	if body == nil || body == http.NoBody {
		return
	}
	if rs.cont != nil && !rs.cont.sent {
		rs.keep = false // it has not sent the body: nothing to read, the connection ends
		return
	}
	n, err := io.CopyN(io.Discard, body, maxDrain+1)
	if n > maxDrain || (err != nil && err != io.EOF) {
		rs.keep = false
	}
	body.Close()
}

// fail answers a request refused before its handler, and closes.
func (rs *response) fail(status int, msg string) {
	rs.keep = false
	rs.head.Set("Content-Type", "text/plain; charset=utf-8")
	rs.WriteHeader(status)
	if msg == "" {
		msg = http.StatusText(status)
	}
	io.WriteString(rs, strconv.Itoa(status)+" "+msg)
	rs.finish()
}

// appendHead writes the status line and headers; bodyLen is the whole
// body's length, or -1 for one that streams.
func (rs *response) appendHead(b []byte, bodyLen int) []byte {
	h := rs.head
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(rs.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(rs.status)...)
	b = append(b, "\r\n"...)
	withBody := bodyAllowed(rs.status)
	b = appendFields(b, h, withBody)
	if !rs.keep {
		b = append(b, "Connection: close\r\n"...)
	}
	if withBody {
		if bodyLen >= 0 && rs.length < 0 {
			b = append(b, "Content-Length: "...)
			b = strconv.AppendInt(b, int64(bodyLen), 10)
			b = append(b, "\r\n"...)
		}
		if _, ok := h["Content-Type"]; !ok && len(rs.body) > 0 && h.Get("Content-Encoding") == "" {
			b = append(b, "Content-Type: "...)
			b = append(b, http.DetectContentType(rs.body)...)
			b = append(b, "\r\n"...)
		}
	}
	if _, ok := h["Date"]; !ok {
		b = append(b, "Date: "...)
		b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// appendFields writes h sorted by name, a value's line breaks made
// spaces (as net/http does); without a body, no framing fields.
func appendFields(b []byte, h http.Header, withBody bool) []byte {
	var small [16]string
	keys := small[:0]
	for k := range h {
		if !withBody && (k == "Content-Length" || k == "Transfer-Encoding") || k == "Connection" {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !validFieldName(k) {
			continue
		}
		for _, v := range h[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			for i := 0; i < len(v); i++ {
				ch := v[i]
				if ch == '\r' || ch == '\n' {
					ch = ' '
				}
				b = append(b, ch)
			}
			b = append(b, "\r\n"...)
		}
	}
	return b
}

// validFieldName reports whether k may be sent as a field name (a token).
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		ch := k[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, ch) >= 0 {
			return false
		}
	}
	return true
}

// bodyAllowed reports whether a status may carry a body (RFC 9110).
func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199) && status != http.StatusNoContent && status != http.StatusNotModified
}

// continueReader sends 100 Continue before the first read of a body whose
// client asked for it, as net/http does.
type continueReader struct {
	rs   *response
	r    io.ReadCloser
	sent bool
}

var continueHead = []byte("HTTP/1.1 100 Continue\r\n\r\n")

func (cr *continueReader) Read(p []byte) (int, error) {
	if !cr.sent {
		cr.sent = true
		if err := cr.rs.write([][]byte{continueHead}); err != nil {
			return 0, err
		}
	}
	return cr.r.Read(p)
}

func (cr *continueReader) Close() error { return cr.r.Close() }
