package framing

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"time"
)

// DetachSSE starts an SSE response like StartSSE but, on HTTP/1.x, takes
// the connection over from net/http: it writes the response head itself
// (Connection: close, the body ends with the connection) and returns an
// SSE that writes straight to the socket. The caller may then return from
// the handler and keep streaming from a goroutine of its own, so that the
// server's per-connection goroutine, buffers and request state are freed:
// an idle stream costs a few KiB instead of tens. The caller must Close it.
//
// Where the connection cannot be taken over (HTTP/2), it falls back to
// StartSSE; Detached tells which happened.
func DetachSSE(w http.ResponseWriter, r *http.Request, opts SSEOptions) (*Writer, error) {
	if r.ProtoMajor != 1 {
		return StartSSE(w, opts)
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return StartSSE(w, opts)
	}
	if opts.ContentType == "" {
		opts.ContentType = "text/event-stream; charset=utf-8"
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	// Bytes the client sent after its request (it should send none) are
	// dropped with the server's reader.
	_ = rw
	s := &Writer{conn: conn, timeout: opts.WriteTimeout}
	s.buf = appendHead(s.buf, r, w.Header(), opts)
	s.buf = append(s.buf, opts.Preamble...)
	if opts.Retry > 0 {
		s.buf = fmt.Appendf(s.buf, "retry: %d\n\n", opts.Retry.Milliseconds())
	}
	if err := s.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// appendHead writes the status line and headers of a detached stream:
// what the handler already set, plus the stream's own.
func appendHead(b []byte, r *http.Request, set http.Header, opts SSEOptions) []byte {
	h := http.Header{}
	for k, v := range set {
		h[k] = v
	}
	for k, v := range opts.Header {
		h[k] = v
	}
	h.Set("Content-Type", opts.ContentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "close")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	b = fmt.Appendf(b, "HTTP/%d.%d 200 OK\r\n", r.ProtoMajor, r.ProtoMinor)
	return append(appendFields(b, h), "\r\n"...)
}

// appendFields writes h's header fields in sorted order.
func appendFields(b []byte, h http.Header) []byte {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			b = fmt.Appendf(b, "%s: %s\r\n", k, v)
		}
	}
	return b
}

// Detached reports whether the stream owns its connection (see DetachSSE).
func (s *Writer) Detached() bool { return s.conn != nil }

// Conn returns a detached stream's connection (nil if not detached), for
// writers that serve many streams without blocking (see TryWrite).
func (s *Writer) Conn() net.Conn { return s.conn }

// Close ends a detached stream's connection; on a stream still owned by
// net/http it does nothing (the handler's return ends it).
func (s *Writer) Close() error {
	if s.conn == nil {
		return nil
	}
	return s.conn.Close()
}

// WriteNow writes b to a detached connection at once, ahead of what is
// queued, within d (0: the write timeout). The caller serialises it with
// the stream's other writes (WebSocket control replies).
func (s *Writer) WriteNow(b []byte, d time.Duration) error {
	if d <= 0 {
		d = s.timeout
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(d))
	n, err := s.conn.Write(b)
	s.sent.Add(int64(n))
	return err
}

// Sent returns how many bytes went to a detached connection so far, its
// response head included.
func (s *Writer) Sent() int64 { return s.sent.Load() }

// AddSent counts n bytes written to the connection by someone else (the
// fan-out workers' TryWrite).
func (s *Writer) AddSent(n int) { s.sent.Add(int64(n)) }

// Shutdown ends both directions of a detached connection without closing
// it: whoever owns the stream gets an error on its next write and closes
// it then, so the socket's number is never reused under a writer.
func (s *Writer) Shutdown() {
	c := s.conn
	if t, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
		c = t.NetConn()
	}
	if h, ok := c.(interface {
		CloseRead() error
		CloseWrite() error
	}); ok {
		h.CloseWrite()
		h.CloseRead()
	}
}

// writeFrames writes the queued frames to a detached connection with as
// few system calls as possible (writev), in groups of up to flushChunk
// bytes, each within the write timeout. Nothing is copied.
func (s *Writer) writeFrames() error {
	if len(s.buf) > 0 {
		s.frames = append(net.Buffers{s.buf}, s.frames...)
		s.buf = nil
	}
	if s.pace != nil {
		return s.writePaced()
	}
	frames := s.frames
	var err error
	for len(frames) > 0 && err == nil {
		n, size := 0, 0
		for n < len(frames) && (n == 0 || size+len(frames[n]) <= flushChunk) {
			size += len(frames[n])
			n++
		}
		group := frames[:n:n]
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
		var sent int64
		sent, err = group.WriteTo(s.conn)
		s.sent.Add(sent)
		frames = frames[n:]
	}
	clear(s.frames)
	if cap(s.frames) > 1024 {
		s.frames = nil // an idle stream keeps no large slice
	} else {
		s.frames = s.frames[:0]
	}
	return err
}
