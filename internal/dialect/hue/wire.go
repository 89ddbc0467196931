package hue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// idNamespace derives a UUID for an event whose log id is not one (a
// publisher chose it), since Hue clients expect UUIDs.
var idNamespace = uuid.MustParse("6f1c4c58-8f5e-4b8e-9b1e-2d1a6a0c4e11")

// encodeEvent writes a log event as one Hue Event object:
// {"creationtime":…,"data":[…],"id":…,"type":…}. It runs once per event
// per process (hub.Format) however many streams carry it. The data is kept
// on one line because clients parse each "data:" line as a JSON array.
func encodeEvent(e *eventlog.Event) []byte {
	data := []byte(e.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	if bytes.ContainsAny(data, "\r\n") {
		var buf bytes.Buffer
		if json.Compact(&buf, data) == nil {
			data = buf.Bytes()
		}
	}
	id := e.ID
	if !uuidRE.MatchString(id) {
		id = uuid.NewSHA1(idNamespace, []byte(id)).String()
	}
	b := make([]byte, 0, 96+len(data))
	b = append(b, `{"creationtime":"`...)
	b = e.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05Z")
	b = append(b, `","data":`...)
	if data[0] == '[' {
		b = append(b, data...) // already a list of items
	} else {
		b = append(b, '[')
		b = append(b, data...)
		b = append(b, ']')
	}
	b = append(b, `,"id":"`...)
	b = append(b, id...)
	b = append(b, `","type":"`...)
	b = append(b, eventType(e.Type)...)
	return append(b, `"}`...)
}

// eventType maps a log event's type onto the Hue event types; anything
// else published on a hue topic is delivered as an update.
func eventType(t string) string {
	switch t {
	case "add", "update", "delete", "error":
		return t
	}
	return "update"
}

// appendArray appends the events' Hue encodings as one JSON array.
func appendArray(b []byte, f *hub.Format, evs []*hub.Event) []byte {
	b = append(b, '[')
	for i, e := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.Wire(f)...)
	}
	return append(b, ']')
}

// messageID is the SSE id (and long-poll ETag) of a batch ending with
// event last: "<unix seconds>:<log sequence>". The seconds are what the
// spec documents; the sequence lets herald resume exactly after it.
func messageID(last *hub.Event) string {
	return formatID(last.Time.Unix(), last.Seq)
}

func formatID(ts int64, seq uint64) string {
	return strconv.FormatInt(ts, 10) + ":" + strconv.FormatUint(seq, 10)
}

// appendMessage appends one SSE message carrying evs.
func appendMessage(b []byte, f *hub.Format, evs []*hub.Event) []byte {
	b = append(b, "id: "...)
	b = append(b, messageID(evs[len(evs)-1])...)
	b = append(b, "\ndata: "...)
	b = appendArray(b, f, evs)
	return append(b, "\n\n"...)
}

// errorEvent tells a client that events it asked for are gone (older than
// retention): a bridge loses them silently, herald says so.
func errorEvent(now time.Time, ee *eventlog.ExpiredError) []byte {
	item, _ := json.Marshal(map[string]string{
		"description": fmt.Sprintf("events after position %d expired; resuming at the earliest stored event, %d", ee.After, ee.Earliest),
	})
	return fmt.Appendf(nil, `{"creationtime":"%s","data":[%s],"id":"%s","type":"error"}`,
		now.UTC().Format("2006-01-02T15:04:05Z"), item, uuid.NewString())
}

// maxIDLen bounds an If-None-Match or Last-Event-ID value.
const maxIDLen = 64

var errBadID = errors.New("event id must be <unix seconds>:<n> or a sequence number")

// parseEventID parses a resume position as a client sends it back:
// "<unix seconds>:<n>" (what herald's ids and the spec's If-None-Match
// look like; a bridge's <n> is 0), optionally quoted like an ETag, or a
// bare sequence number. seq 0 means "resume by time".
func parseEventID(s string) (ts int64, seq uint64, err error) {
	s = strings.TrimSpace(s)
	if len(s) > maxIDLen {
		return 0, 0, errBadID
	}
	s = strings.TrimPrefix(s, "W/")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	tsPart, seqPart, hasColon := strings.Cut(s, ":")
	if !hasColon {
		seq, err = parseDigits(tsPart)
		if err != nil || seq == 0 {
			return 0, 0, errBadID
		}
		return 0, seq, nil
	}
	t, err := parseDigits(tsPart)
	if err != nil || t > 1<<62 {
		return 0, 0, errBadID
	}
	if seq, err = parseDigits(seqPart); err != nil {
		return 0, 0, errBadID
	}
	return int64(t), seq, nil
}

// parseDigits accepts only ASCII decimal digits (no sign, no spaces).
func parseDigits(s string) (uint64, error) {
	if s == "" || len(s) > 20 {
		return 0, errBadID
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errBadID
		}
	}
	return strconv.ParseUint(s, 10, 64)
}
