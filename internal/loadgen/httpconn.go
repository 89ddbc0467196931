package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// maxBody bounds an answer body read whole (long-poll answers).
const maxBody = 64 << 20

// httpConn is one HTTP/1.1 client connection written and read by hand.
// The receivers' requests and answers go through it without allocating:
// net/http allocates a request, a response and header maps per call, which
// for a long-poll at a low rate is per event.
type httpConn struct {
	conn net.Conn
	r    *bufio.Reader
	host string // Host header
	req  []byte // the request being sent, reused
	body []byte // the last answer's body, reused
}

// respHead is what the receivers need of an answer's head.
type respHead struct {
	status     int
	length     int64 // -1: unknown (chunked, or until the connection closes)
	chunked    bool
	close      bool
	retryAfter time.Duration
	upgrade    string // Upgrade, of a 101 answer: the protocol switched to
	wsAccept   string // Sec-WebSocket-Accept, of a WebSocket handshake's answer
}

// dialHTTP connects to u's host from local (nil: any address).
func dialHTTP(ctx context.Context, u *url.URL, local net.Addr) (*httpConn, error) {
	addr, err := hostPort(u)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{LocalAddr: local, Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &httpConn{conn: conn, r: bufio.NewReaderSize(conn, 4096), host: u.Host}, nil
}

// hostPort is the address to dial for u; the receivers speak plain HTTP only.
func hostPort(u *url.URL) (string, error) {
	switch u.Scheme {
	case "http", "ws":
	default:
		return "", fmt.Errorf("%s: only http:// URLs are supported", u.Redacted())
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	return net.JoinHostPort(u.Hostname(), "80"), nil
}

func (c *httpConn) close() { c.conn.Close() }

// send writes a request: method and target, the Host header, header (whole
// lines, each ending in CRLF), and body if not nil.
func (c *httpConn) send(method string, target []byte, header string, body []byte) error {
	c.req = appendRequest(c.req[:0], method, target, c.host, header, body)
	_, err := c.conn.Write(c.req)
	return err
}

// appendRequest appends to b a request to host: method and target, header
// (whole lines, each ending in CRLF), and body if not nil.
func appendRequest(b []byte, method string, target []byte, host, header string, body []byte) []byte {
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	b = append(b, header...)
	if body != nil {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// roundTrip sends a request and reads the whole answer; the body is valid
// until the next call.
func (c *httpConn) roundTrip(method string, target []byte, header string, body []byte) (respHead, []byte, error) {
	if err := c.send(method, target, header, body); err != nil {
		return respHead{}, nil, err
	}
	h, err := c.readHead()
	if err != nil {
		return h, nil, err
	}
	b, err := c.readBody(h)
	return h, b, err
}

var errMalformed = errors.New("malformed HTTP answer")

// readHead reads an answer's status line and headers.
func (c *httpConn) readHead() (respHead, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return respHead{length: -1}, err
	}
	h, err := parseStatusLine(line)
	if err != nil {
		return h, err
	}
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return h, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return h, nil
		}
		if err := h.headerLine(line); err != nil {
			return h, err
		}
	}
}

// parseStatusLine starts the head of an answer whose status line is line.
func parseStatusLine(line []byte) (respHead, error) {
	h := respHead{length: -1}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return h, errMalformed
	}
	h.close = line[7] == '0' // HTTP/1.0 closes unless told otherwise
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return h, errMalformed
		}
		h.status = h.status*10 + int(c-'0')
	}
	return h, nil
}

// headerLine takes one header line, without its line end, into h.
func (h *respHead) headerLine(line []byte) error {
	i := bytes.IndexByte(line, ':')
	if i < 0 {
		return errMalformed
	}
	name, value := line[:i], bytes.TrimSpace(line[i+1:])
	switch {
	case equalFold(name, "content-length"):
		n, ok := parseDigits(value)
		if !ok {
			return errMalformed
		}
		h.length = int64(n)
	case equalFold(name, "transfer-encoding"):
		h.chunked = containsFold(value, "chunked")
	case equalFold(name, "connection"):
		h.close = equalFold(value, "close")
	case equalFold(name, "retry-after"):
		if n, ok := parseDigits(value); ok {
			h.retryAfter = time.Duration(n) * time.Second
		}
	case h.status == 101 && equalFold(name, "upgrade"):
		h.upgrade = string(value)
	case h.status == 101 && equalFold(name, "sec-websocket-accept"):
		h.wsAccept = string(value)
	}
	return nil
}

// hasBody reports whether an answer with head h has a body at all.
func (h respHead) hasBody() bool {
	return h.status != 204 && h.status != 304 && h.status/100 != 1
}

// readBody reads the body of the answer whose head was just read.
func (c *httpConn) readBody(h respHead) ([]byte, error) {
	c.body = c.body[:0]
	err := c.streamBody(h, func(p []byte) error {
		if len(c.body)+len(p) > maxBody {
			return fmt.Errorf("answer body over %d bytes", maxBody)
		}
		c.body = append(c.body, p...)
		return nil
	})
	return c.body, err
}

// streamBody hands the body of the answer whose head was just read to fn in
// pieces of the connection's buffer, without copying. It returns when the
// body ends, the connection fails, or fn fails.
func (c *httpConn) streamBody(h respHead, fn func([]byte) error) error {
	switch {
	case !h.hasBody():
		return nil
	case h.chunked:
		for {
			line, err := c.r.ReadSlice('\n')
			if err != nil {
				return err
			}
			size, ok := parseHex(line)
			if !ok {
				return errMalformed
			}
			if size == 0 {
				for { // trailers, then the empty line
					line, err := c.r.ReadSlice('\n')
					if err != nil {
						return err
					}
					if len(bytes.TrimRight(line, "\r\n")) == 0 {
						return nil
					}
				}
			}
			if err := c.pass(int64(size), fn); err != nil {
				return err
			}
			if line, err = c.r.ReadSlice('\n'); err != nil {
				return err
			} else if len(bytes.TrimRight(line, "\r\n")) != 0 {
				return errMalformed
			}
		}
	case h.length >= 0:
		return c.pass(h.length, fn)
	default: // until the connection closes
		err := c.pass(-1, fn)
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
}

// pass hands n bytes (n < 0: all until EOF) of the buffered reader to fn.
func (c *httpConn) pass(n int64, fn func([]byte) error) error {
	for n != 0 {
		if _, err := c.r.Peek(1); err != nil { // fills the buffer if empty
			if err == io.EOF && n > 0 {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		k := c.r.Buffered()
		if n > 0 && int64(k) > n {
			k = int(n)
		}
		p, _ := c.r.Peek(k)
		if err := fn(p); err != nil {
			return err
		}
		c.r.Discard(k)
		if n > 0 {
			n -= int64(k)
		}
	}
	return nil
}

// equalFold reports whether b equals the lower-case ASCII s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether b contains the lower-case ASCII s, ignoring case.
func containsFold(b []byte, s string) bool {
	for i := 0; i+len(s) <= len(b); i++ {
		if equalFold(b[i:i+len(s)], s) {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// parseDigits parses a non-negative decimal integer of at most 18 digits.
func parseDigits(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// parseHex parses a chunk-size line: hex digits, maybe extensions, CRLF.
func parseHex(line []byte) (uint64, bool) {
	line = bytes.TrimRight(line, "\r\n")
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSpace(line)
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n uint64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | uint64(c-'0')
		case 'a' <= lower(c) && lower(c) <= 'f':
			n = n<<4 | uint64(lower(c)-'a'+10)
		default:
			return 0, false
		}
	}
	return n, true
}
