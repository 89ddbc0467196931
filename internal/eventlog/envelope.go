package eventlog

import (
	"encoding/binary"
	"errors"
	"time"
)

// A stored message's payload is an envelope: the event's ID, type and time
// ahead of its data. Keeping them out of NATS headers makes reads several
// times cheaper (no header maps to build per message on either side).
//
//	version byte (1) | uvarint len(id) | id | uvarint len(type) | type | varint unix nanos | data
const envelopeV1 = 1

var errEnvelope = errors.New("eventlog: malformed stored message")

func appendEnvelope(dst []byte, id, typ string, t time.Time, data []byte) []byte {
	dst = append(dst, envelopeV1)
	dst = binary.AppendUvarint(dst, uint64(len(id)))
	dst = append(dst, id...)
	dst = binary.AppendUvarint(dst, uint64(len(typ)))
	dst = append(dst, typ...)
	dst = binary.AppendVarint(dst, t.UnixNano())
	return append(dst, data...)
}

// openEnvelope fills ev's ID, Type, Time and Data from a stored payload.
// Data aliases b.
func openEnvelope(b []byte, ev *Event) error {
	if len(b) == 0 || b[0] != envelopeV1 {
		return errEnvelope
	}
	b = b[1:]
	id, b, ok := uvarintBytes(b)
	if !ok {
		return errEnvelope
	}
	typ, b, ok := uvarintBytes(b)
	if !ok {
		return errEnvelope
	}
	ns, n := binary.Varint(b)
	if n <= 0 {
		return errEnvelope
	}
	ev.ID, ev.Type = string(id), string(typ)
	ev.Time = time.Unix(0, ns).UTC()
	ev.Data = b[n:]
	if len(ev.Data) == 0 {
		ev.Data = []byte("null")
	}
	return nil
}

func uvarintBytes(b []byte) (field, rest []byte, ok bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return nil, nil, false
	}
	return b[n : n+int(l)], b[n+int(l):], true
}
