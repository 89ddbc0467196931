package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxSSELine bounds one line of an event stream. An event's data is at most
// the server's 1 MiB body limit plus its envelope; anything longer is not
// herald talking.
const maxSSELine = 4 << 20

// errLineTooLong reports a stream line longer than maxSSELine.
var errLineTooLong = errors.New("event stream line too long")

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	id    string // the id field; "" if the event had none
	hasID bool
	event string // the event field; "" means "message"
	data  []byte
}

// sseReader parses a text/event-stream as the HTML standard describes:
// lines end in CR, LF or CRLF, a blank line dispatches the event, ":"
// starts a comment, data fields are joined with newlines.
type sseReader struct {
	s *bufio.Scanner
	// onLine is called for every line read, comments included, so that a
	// caller can tell a live connection (keep-alives) from a dead one.
	onLine func()
}

func newSSEReader(r io.Reader, onLine func()) *sseReader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), maxSSELine)
	s.Split(scanSSELines)
	if onLine == nil {
		onLine = func() {}
	}
	return &sseReader{s: s, onLine: onLine}
}

// next returns the next event with data. It returns io.EOF when the stream
// ends cleanly between events, io.ErrUnexpectedEOF when it ends inside one.
func (r *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data bytes.Buffer
	var hasData, partial bool
	for r.s.Scan() {
		r.onLine()
		line := r.s.Bytes()
		if len(line) == 0 {
			if hasData {
				ev.data = bytes.Clone(data.Bytes())
				return ev, nil
			}
			// A blank line after only comments, ids or event names
			// dispatches nothing (HTML §9.2.6).
			ev, partial = sseEvent{}, false
			continue
		}
		partial = true
		if line[0] == ':' {
			continue // comment: a keep-alive
		}
		field, value, found := bytes.Cut(line, []byte(":"))
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		switch string(field) {
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				ev.id, ev.hasID = string(value), true
			}
		case "event":
			ev.event = string(value)
		}
		// "retry" and unknown fields are ignored: reconnection timing is
		// the Stream's own policy.
	}
	if err := r.s.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return sseEvent{}, fmt.Errorf("%w (over %d bytes)", errLineTooLong, maxSSELine)
		}
		return sseEvent{}, err
	}
	if partial || hasData {
		return sseEvent{}, io.ErrUnexpectedEOF
	}
	return sseEvent{}, io.EOF
}

// scanSSELines is a bufio.SplitFunc for CR, LF and CRLF line endings.
func scanSSELines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0:
		if atEOF && len(data) > 0 {
			// A final line without its end is an incomplete event: hand
			// it over so next reports io.ErrUnexpectedEOF, not a clean end.
			return len(data), data, nil
		}
		return 0, nil, nil
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data):
		if data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
		return i + 1, data[:i], nil
	case atEOF:
		return i + 1, data[:i], nil
	default:
		return 0, nil, nil // a CR at the end: wait to see whether LF follows
	}
}
