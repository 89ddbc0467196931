package cursor

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// encode returns st as stored: the bytes json.Marshal(st) gives, written
// by hand. It is the state of every write of a poll, and json.Marshal's
// reflection (each time through time.Time's MarshalJSON, its output then
// validated and compacted again) cost more than the rest of the poll's
// own work, and grew the stack of the pooled goroutine that answers the
// poll on every wake. Being json.Marshal's bytes, a state written here is
// read by any herald, older ones included, and decode reads either.
func encode(st *State) ([]byte, error) {
	return appendState(make([]byte, 0, 512+len(st.Meta)), st)
}

// appendState appends st, encoded, to b.
func appendState(b []byte, st *State) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendString(b, st.ID)
	b = append(b, `,"filter":`...)
	if st.Filter == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, p := range st.Filter {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, p)
		}
		b = append(b, ']')
	}
	b = append(b, `,"acked":`...)
	b = strconv.AppendUint(b, st.Acked, 10)
	var err error
	if bt := st.Batch; bt != nil {
		b = append(b, `,"batch":{"id":`...)
		b = appendString(b, bt.ID)
		b = append(b, `,"through":`...)
		b = strconv.AppendUint(b, bt.Through, 10)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(bt.Count), 10)
		b = append(b, `,"created":`...)
		if b, err = appendTime(b, bt.Created); err != nil {
			return nil, err
		}
		b = append(b, '}')
	}
	if st.AckedBatch != "" {
		b = append(b, `,"acked_batch":`...)
		b = appendString(b, st.AckedBatch)
	}
	if st.Owner != "" {
		b = append(b, `,"owner":`...)
		b = appendString(b, st.Owner)
	}
	if len(st.Meta) > 0 {
		// The dialect's own: json.Marshal checks and compacts it.
		m, err := json.Marshal(st.Meta)
		if err != nil {
			return nil, fmt.Errorf("cursor %s: meta: %w", st.ID, err)
		}
		b = append(b, `,"meta":`...)
		b = append(b, m...)
	}
	if st.IdleTTL != 0 {
		b = append(b, `,"idle_ttl":`...)
		b = strconv.AppendInt(b, int64(st.IdleTTL), 10)
	}
	b = append(b, `,"created":`...)
	if b, err = appendTime(b, st.Created); err != nil {
		return nil, err
	}
	b = append(b, `,"last_active":`...)
	if b, err = appendTime(b, st.LastActive); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendString appends s as a JSON string, as json.Marshal writes it
// (with '<', '>' and '&' escaped: a filter's '>' is "\u003e"). Control
// characters and anything not ASCII, which the ids, topics and keys a
// state holds do not have, are left to json.Marshal.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	i := 0
	for i < len(s) && safe(s[i]) {
		i++
	}
	if i == len(s) { // the common case: nothing to escape
		b = append(b, s...)
		return append(b, '"')
	}
	n0 := len(b) - 1
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e:
			q, _ := json.Marshal(s) // a string always encodes
			return append(b[:n0], q...)
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// safe reports whether json.Marshal writes c, in a string, as it is.
func safe(c byte) bool {
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}

const hex = "0123456789abcdef"

// appendTime appends t as time.Time's MarshalJSON does: RFC 3339 with
// nanoseconds, in t's own zone. A time MarshalJSON refuses (a year past
// 9999, a zone offset of a day) it refuses too.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	n0 := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	// MarshalJSON's checks, on what was written (as it makes them).
	ok := b[n0+len("9999")] == '-'
	if z := b[len(b)-1]; ok && z != 'Z' {
		c := b[len(b)-len("Z07:00")]
		ok = (c < '0' || c > '9') && 10*(b[len(b)-5]-'0')+(b[len(b)-4]-'0') < 24
	}
	if !ok {
		_, err := t.MarshalJSON()
		return nil, fmt.Errorf("cursor: %w", err)
	}
	return append(b, '"'), nil
}
