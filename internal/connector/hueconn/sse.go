package hueconn

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxMessage bounds one SSE message from the bridge (a bridge's are a few
// KiB; herald's own hold up to 256 events).
const maxMessage = 8 << 20

// errMessageTooLarge ends a stream whose message exceeds maxMessage.
var errMessageTooLarge = errors.New("hue: stream message too large")

// message is one Server-Sent Events message: its id and its data lines
// joined with "\n".
type message struct {
	id   string
	data []byte
}

// sseReader reads the messages of an event stream (the WHATWG rules that
// matter here: "field: value" lines, comments, a blank line dispatches,
// data lines join with "\n", the id carries over to later messages).
type sseReader struct {
	sc   *bufio.Scanner
	id   string
	data bytes.Buffer
}

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxMessage)
	sc.Split(scanLines)
	return &sseReader{sc: sc}
}

// next returns the next message with data; io.EOF when the stream ends.
func (s *sseReader) next() (message, error) {
	for s.sc.Scan() {
		line := s.sc.Bytes()
		if len(line) == 0 {
			if s.data.Len() == 0 {
				continue
			}
			b := bytes.TrimSuffix(s.data.Bytes(), []byte("\n"))
			m := message{id: s.id, data: bytes.Clone(b)}
			s.data.Reset()
			return m, nil
		}
		if line[0] == ':' {
			continue // a comment: the bridge's ": hi", keep-alives
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			if s.data.Len()+len(value) >= maxMessage {
				return message{}, errMessageTooLarge
			}
			s.data.Write(value)
			s.data.WriteByte('\n')
		case "id":
			if !bytes.ContainsRune(value, 0) {
				s.id = string(value)
			}
		}
	}
	if err := s.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return message{}, errMessageTooLarge
		}
		return message{}, fmt.Errorf("hue: read stream: %w", err)
	}
	return message{}, io.EOF
}

// scanLines splits on "\n", "\r\n" or a lone "\r", as SSE allows.
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, c := range data {
		switch c {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // a "\n" may follow
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
