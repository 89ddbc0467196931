package plex

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
)

// elements maps a notification type onto the element that carries it
// (python-plexapi, go-plex-client, Tautulli and the Plex captures).
var elements = map[string]string{
	"playing":                   "PlaySessionStateNotification",
	"timeline":                  "TimelineEntry",
	"activity":                  "ActivityNotification",
	"status":                    "StatusNotification",
	"reachability":              "ReachabilityNotification",
	"preference":                "Setting",
	"update.statechange":        "AutoUpdateNotification",
	"transcodeSession.start":    "TranscodeSession",
	"transcodeSession.update":   "TranscodeSession",
	"transcodeSession.end":      "TranscodeSession",
	"backgroundProcessingQueue": "BackgroundProcessingQueueEventNotification",
	"progress":                  "ProgressNotification",
	"account":                   "AccountUpdateNotification",
	"log":                       "LogSentNotification",
}

// Element returns the element name of notification type typ. A type Plex
// has not documented gets "<Type>Notification" from its first segment; a
// publisher that knows better sends the wrapped form.
func Element(typ string) string {
	if e, ok := elements[typ]; ok {
		return e
	}
	first, _, _ := strings.Cut(typ, ".")
	if first == "" {
		return "Notification"
	}
	return strings.ToUpper(first[:1]) + first[1:] + "Notification"
}

// notificationType is the Plex type of e: its topic without "plex.".
func notificationType(e *eventlog.Event) string {
	if t, ok := strings.CutPrefix(e.Topic, TopicPrefix); ok {
		return t
	}
	return e.Type
}

// notification is an event's payload in Plex's terms: the element name and
// its objects (one, or several if the publisher sent an array).
type notification struct {
	typ     string
	element string
	items   []json.RawMessage // WebSocket size is their number
}

// decode splits e's data into element and objects. Data of the form
// {"<Element>":{…}} or {"<Element>":[…]} (one key, capitalised, as Plex's
// EventSource sends it) is taken as is; anything else is the element's
// object itself.
func decode(e *eventlog.Event) notification {
	n := notification{typ: notificationType(e)}
	data := bytes.TrimSpace(e.Data)
	if len(data) > 0 && data[0] == '{' {
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) == nil && len(m) == 1 {
			for k, v := range m {
				v = bytes.TrimSpace(v)
				if k != "" && 'A' <= k[0] && k[0] <= 'Z' && len(v) > 0 && (v[0] == '{' || v[0] == '[') {
					n.element = k
					data = v
				}
			}
		}
	}
	if n.element == "" {
		n.element = Element(n.typ)
	}
	if len(data) > 0 && data[0] == '[' {
		if json.Unmarshal(data, &n.items) == nil {
			return n
		}
		n.items = nil
	}
	n.items = []json.RawMessage{data}
	return n
}

// compact returns b on one line: SSE data must not span lines (Plex
// clients read one data: line), and WebSocket frames should look alike.
func compact(b []byte) []byte {
	if !bytes.ContainsAny(b, "\n\r") {
		return b
	}
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// appendInner appends {"<Element>":<item>}, the object Plex's EventSource
// sends as data.
func appendInner(b []byte, element string, item json.RawMessage) []byte {
	b = append(b, '{')
	b = appendJSONString(b, element)
	b = append(b, ':')
	b = append(b, compact(item)...)
	return append(b, '}')
}

// encodeSSE writes e as Plex's EventSource message, "event: <type>" and one
// "data:" line holding the single inner object, plus herald's "id:" (the log
// position) for Last-Event-ID resume. An event carrying several objects
// becomes one message per object, as Plex sends them; only the last carries
// the id, so a client cut in between resumes before the event and sees all
// of it again rather than losing part of it.
func encodeSSE(e *eventlog.Event) []byte {
	n := decode(e)
	var b []byte
	for i, item := range n.items {
		id := ""
		if i == len(n.items)-1 {
			id = strconv.FormatUint(e.Seq, 10)
		}
		b = framing.AppendEvent(b, id, n.typ, appendInner(nil, n.element, item))
	}
	return b
}

// encodeWS writes e as one WebSocket frame,
// {"NotificationContainer":{"type":…,"size":n,"<Element>":[…]}}.
func encodeWS(e *eventlog.Event) []byte {
	n := decode(e)
	b := make([]byte, 0, 64+len(n.typ)+len(n.element)+len(e.Data))
	b = append(b, `{"NotificationContainer":{"type":`...)
	b = appendJSONString(b, n.typ)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(len(n.items)), 10)
	b = append(b, ',')
	b = appendJSONString(b, n.element)
	b = append(b, ":["...)
	for i, item := range n.items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, compact(item)...)
	}
	return append(b, "]}}"...)
}
