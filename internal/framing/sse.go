// Package framing holds the wire framing every dialect shares: a Server-Sent
// Events writer with ids, comments, keep-alives and write deadlines, and a
// WebSocket connection with the same write discipline.
package framing

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Writer writes a stream's frames: a text/event-stream response, or a
// WebSocket connection's (see UpgradeWS). Frames are buffered until Flush,
// so several ready events leave in one write.
type Writer struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	conn    net.Conn // set when detached (see DetachSSE)
	timeout time.Duration
	buf     []byte
	frames  net.Buffers // detached: frames to write, referenced, not copied
	// sent counts the bytes written to a detached connection, by the
	// Writer or by a caller of TryWrite (AddSent), for the access log.
	sent atomic.Int64
	pace Pacer // nil: write as fast as the client takes it
}

// SSEOptions configures StartSSE.
type SSEOptions struct {
	// ContentType defaults to "text/event-stream; charset=utf-8".
	ContentType string
	// WriteTimeout bounds each Flush: a client that accepts nothing for
	// that long is cut (default 30s).
	WriteTimeout time.Duration
	// Retry, if set, sends a "retry:" reconnection hint first.
	Retry time.Duration
	// Preamble is written before anything else (e.g. Hue's ": hi\n\n").
	Preamble []byte
	// Header holds extra response headers.
	Header http.Header
}

// StartSSE sends the response headers and the preamble, and flushes them so
// the client knows the stream is open.
func StartSSE(w http.ResponseWriter, opts SSEOptions) (*Writer, error) {
	if opts.ContentType == "" {
		opts.ContentType = "text/event-stream; charset=utf-8"
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	h := w.Header()
	for k, v := range opts.Header {
		h[k] = v
	}
	h.Set("Content-Type", opts.ContentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // tell reverse proxies not to buffer the stream
	s := &Writer{w: w, rc: http.NewResponseController(w), timeout: opts.WriteTimeout}
	w.WriteHeader(http.StatusOK)
	s.buf = append(s.buf, opts.Preamble...)
	if opts.Retry > 0 {
		s.buf = fmt.Appendf(s.buf, "retry: %d\n\n", opts.Retry.Milliseconds())
	}
	return s, s.Flush()
}

// Add queues a pre-encoded frame (see AppendEvent). The frame must not
// change until Flush: a detached stream writes it without copying.
func (s *Writer) Add(frame []byte) {
	if s.conn != nil {
		s.frames = append(s.frames, frame)
		return
	}
	s.buf = append(s.buf, frame...)
}

// Event queues one event.
func (s *Writer) Event(id, event string, data []byte) { s.Add(AppendEvent(nil, id, event, data)) }

// Comment queues a comment line, used as a keep-alive.
func (s *Writer) Comment(text string) {
	s.Add([]byte(": " + text + "\n\n"))
}

// flushChunk is how much is written under one write deadline: the timeout
// cuts a client that makes no progress, not one that is merely slower than
// a large backlog.
const flushChunk = 64 << 10

// Flush writes what is queued. Each chunk must be accepted within the write
// timeout, or Flush fails and the caller ends the stream.
func (s *Writer) Flush() error {
	if s.conn != nil {
		return s.writeFrames()
	}
	for b := s.buf; len(b) > 0; {
		n := min(len(b), flushChunk)
		if s.pace != nil {
			var err error
			if n, err = s.pace.Take(n); err != nil {
				return err
			}
		}
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
		if _, err := s.w.Write(b[:n]); err != nil {
			return err
		}
		if s.pace != nil { // each piece leaves when it may, not at the end
			if err := s.rc.Flush(); err != nil {
				return err
			}
		}
		b = b[n:]
	}
	s.buf = s.buf[:0]
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	return s.rc.Flush()
}

// AppendEvent appends one SSE frame. data may hold newlines: each line gets
// its own "data:" field, as the format requires. id and event must not.
func AppendEvent(dst []byte, id, event string, data []byte) []byte {
	if id != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, id...)
		dst = append(dst, '\n')
	}
	if event != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, event...)
		dst = append(dst, '\n')
	}
	for {
		line := data
		i := bytes.IndexByte(data, '\n')
		if i >= 0 {
			line = data[:i]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		dst = append(dst, "data: "...)
		dst = append(dst, line...)
		dst = append(dst, '\n')
		if i < 0 {
			break
		}
		data = data[i+1:]
	}
	return append(dst, '\n')
}

// LastEventID returns the resume position a reconnecting EventSource sends
// in the Last-Event-ID header ("" if none).
func LastEventID(r *http.Request) string {
	return r.Header.Get("Last-Event-ID")
}

// ParseSeq parses a decimal log position.
func ParseSeq(s string) (uint64, error) {
	return strconv.ParseUint(s, 10, 64)
}
