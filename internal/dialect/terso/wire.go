package terso

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// TimeFormat is how Jetstream writes times: UTC, whole seconds.
const TimeFormat = "2006-01-02T15:04:05Z"

// Event versions: device events keep the version of the device protocol
// (2) even when read through /3; events the API generates carry 3.
const (
	deviceVersion = 2
	apiVersion    = 3
)

// eventTypes maps the lower-case topic token of each documented event type
// to its wire name. The .NET SDK resolves Type+"Dto" to a class, so the
// casing must be exact.
var eventTypes = map[string]string{}

// deviceEvents are the types that carry Device and ReceivedTime and Version 2.
var deviceEvents = map[string]bool{}

func init() {
	for _, t := range []string{"AggregateEvent", "ObjectEvent", "CommandCompletionEvent",
		"HeartbeatEvent", "LogEntryEvent", "SensorReadingEvent", "StatusEvent"} {
		eventTypes[strings.ToLower(t)] = t
		deviceEvents[t] = true
	}
	for _, t := range []string{"CommandQueuedEvent", "BusinessProcessEvent",
		"DeviceAddedEvent", "DeviceModifiedEvent", "DeviceRemovedEvent",
		"AliasAddedEvent", "AliasModifiedEvent", "AliasRemovedEvent",
		"DeviceCredentialsAddedEvent", "DeviceCredentialsModifiedEvent", "DeviceCredentialsRemovedEvent"} {
		eventTypes[strings.ToLower(t)] = t
	}
}

// TypeName returns the wire name of an event type given in any casing
// ("heartbeatevent" → "HeartbeatEvent"); an unknown type is returned as is.
func TypeName(t string) string {
	if n, ok := eventTypes[strings.ToLower(t)]; ok {
		return n
	}
	return t
}

// Topic returns the herald topic of a Jetstream event.
func Topic(device, typ string) string {
	return "jetstream." + device + "." + strings.ToLower(typ)
}

// topicParts splits "jetstream.<device>.<type>"; ok is false for any other shape.
func topicParts(t string) (device, typ string, ok bool) {
	rest, found := strings.CutPrefix(t, "jetstream.")
	if !found {
		return "", "", false
	}
	device, typ, found = strings.Cut(rest, ".")
	if !found || strings.Contains(typ, ".") {
		return "", "", false
	}
	return device, typ, true
}

// wireEvent is one stored event as Jetstream delivers it, with the fields
// the dialect filters and deletes by.
type wireEvent struct {
	Seq     uint64
	EventID string
	Type    string
	Version int
	Data    []byte // the JSON object sent to the client
}

// toWire returns ev in the Jetstream shape. Data published by the
// simulator or the user endpoints is already complete and is copied. Data
// published through the native API may lack the envelope fields; they are
// filled in from the event (its id, time and topic), so every client sees
// a well-formed event with a case-sensitive "Type". Keys are matched
// exactly, as the .NET SDK does, not with encoding/json's case folding.
func toWire(ev *eventlog.Event) wireEvent {
	data := []byte(ev.Data)
	var m map[string]json.RawMessage
	isObject := len(data) > 0 && data[0] == '{' && json.Unmarshal(data, &m) == nil
	has := func(k string) bool { _, ok := m[k]; return ok }
	str := func(k string) (string, bool) {
		var s string
		return s, has(k) && json.Unmarshal(m[k], &s) == nil
	}
	device, topicType, _ := topicParts(ev.Topic)
	w := wireEvent{Seq: ev.Seq, EventID: ev.ID}
	if t, ok := str("Type"); ok && t != "" {
		w.Type = t
	} else if ev.Type != "" && ev.Type != "event" {
		w.Type = TypeName(ev.Type)
	} else {
		w.Type = TypeName(topicType)
	}
	if id, ok := str("EventId"); ok {
		w.EventID = id
	}
	w.Version = apiVersion
	if deviceEvents[w.Type] {
		w.Version = deviceVersion
	}
	var v int
	if has("Version") && json.Unmarshal(m["Version"], &v) == nil {
		w.Version = v
	}
	if has("Type") && has("EventId") && has("EventTime") && has("Version") {
		w.Data = data
		return w
	}
	// Fill in what is missing, after the publisher's own fields.
	b := []byte{'{'}
	if isObject {
		b = append(b, bytes.TrimSpace(data[1:lastBrace(data)])...)
	} else if len(data) > 0 {
		b = append(b, `"Data":`...)
		b = append(b, data...)
	}
	field := func(name string, value []byte) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, name)
		b = append(b, ':')
		b = append(b, value...)
	}
	ts := appendString(nil, stamp(ev.Time))
	if deviceEvents[w.Type] {
		if !has("Device") && device != "" {
			field("Device", appendString(nil, device))
		}
		if !has("ReceivedTime") {
			field("ReceivedTime", ts)
		}
	}
	if !has("Type") {
		field("Type", appendString(nil, w.Type))
	}
	if !has("EventId") {
		field("EventId", appendString(nil, w.EventID))
	}
	if !has("EventTime") {
		field("EventTime", ts)
	}
	if !has("Version") {
		field("Version", strconv.AppendInt(nil, int64(w.Version), 10))
	}
	w.Data = append(b, '}')
	return w
}

// lastBrace returns the index of the closing brace of a valid JSON object.
func lastBrace(b []byte) int {
	i := len(b) - 1
	for i > 0 && b[i] != '}' {
		i--
	}
	return i
}

// appendString appends s as a JSON string without HTML escaping.
func appendString(dst []byte, s string) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		return append(dst, `""`...)
	}
	return append(dst, b...)
}

// appendEvents writes the Get Events response body.
func appendEvents(dst []byte, batchID string, evs []wireEvent) []byte {
	dst = append(dst, `{"BatchId":`...)
	dst = appendString(dst, batchID)
	dst = append(dst, `,"Count":`...)
	dst = strconv.AppendInt(dst, int64(len(evs)), 10)
	dst = append(dst, `,"Events":[`...)
	for i := range evs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, evs[i].Data...)
	}
	return append(dst, "]}"...)
}

// stamp formats t as Jetstream does.
func stamp(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ErrNotEvent is returned by DraftOf for data that is not a JSON object.
var ErrNotEvent = errors.New("jetstream: an event is a JSON object")

// DraftOf returns the draft that stores data, an event as another Jetstream
// API delivered it (a connector's upstream), so that this dialect serves it
// exactly as received: the bytes are kept as they are, the herald id is
// its EventId (lower-case, so a batch read twice is stored once; a digest
// of the bytes when it has none), and the topic is Topic(Device, Type) —
// "_" for an event without a device, and any byte a topic token cannot
// hold replaced by '_' (the event's own fields keep the original).
func DraftOf(data json.RawMessage) (eventlog.Draft, error) {
	var h struct {
		Device  string `json:"Device"`
		Type    string `json:"Type"`
		EventID string `json:"EventId"`
	}
	if len(data) == 0 || data[0] != '{' || json.Unmarshal(data, &h) != nil {
		return eventlog.Draft{}, ErrNotEvent
	}
	typ := TypeName(h.Type)
	if typ == "" {
		typ = "Event"
	}
	id := strings.ToLower(strings.TrimSpace(h.EventID))
	if id == "" {
		sum := sha256.Sum256(data)
		id = "sha256:" + hex.EncodeToString(sum[:16])
	}
	return eventlog.Draft{ID: id, Topic: Topic(token(h.Device), token(typ)), Type: typ, Data: data}, nil
}

// token makes s a topic token: '_' for an empty one, and each byte a
// token cannot hold replaced by '_'.
func token(s string) string {
	if s == "" {
		return "_"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	b := []byte(s)
	for i := range b {
		if topic.Validate(string(b[i:i+1])) != nil {
			b[i] = '_'
		}
	}
	return string(b)
}
