package native

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
)

// EncodeEvent writes an event as the native JSON object
// {"seq":…,"id":…,"time":…,"topic":…,"type":…,"data":…}, the body of a
// long-poll's events and of a webhook request. It is built by hand
// because it runs once per event on the fan-out path and Data is already JSON.
func EncodeEvent(e *eventlog.Event) []byte {
	return appendEvent(make([]byte, 0, 96+len(e.ID)+len(e.Topic)+len(e.Type)+len(e.Data)), e)
}

func appendEvent(b []byte, e *eventlog.Event) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, e.Seq, 10)
	b = append(b, `,"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","topic":`...)
	b = appendString(b, e.Topic)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"data":`...)
	b = append(b, e.Data...)
	return append(b, '}')
}

// encodeSSE writes the event as an SSE frame: its seq is the id a
// reconnecting client sends back as Last-Event-ID.
func encodeSSE(e *eventlog.Event) []byte {
	return framing.AppendEvent(nil, strconv.FormatUint(e.Seq, 10), sseEventName(e.Type), EncodeEvent(e))
}

// sseEventName keeps a type usable as an SSE event name (one line).
func sseEventName(t string) string {
	for i := 0; i < len(t); i++ {
		if t[i] == '\n' || t[i] == '\r' {
			return "message"
		}
	}
	return t
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
