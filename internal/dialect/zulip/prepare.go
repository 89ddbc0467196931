package zulip

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/herald-io/herald/internal/eventlog"
)

// prepared is a stored event as delivery needs it, derived once per
// process (eventCache) and shared by every queue that receives it: the
// Zulip event parsed, a message's rendering, and the event encoded, id
// included (ids are log positions, the same for every queue), once for
// each variant that queues receive. A message's variant is what differs
// between users and queues: its flags (read, mentioned) and its content
// (Markdown or HTML); any other event has one.
type prepared struct {
	seq uint64
	typ string
	// ok is false for an event that is not a Zulip event (not a JSON
	// object, or not of its type's shape): no queue receives it.
	ok     bool
	obj    map[string]json.RawMessage // the event, herald's own fields removed
	msg    *preparedMessage
	typing *typingFacts
	in     int64       // the stored event's size
	grow   func(int64) // counts an encoding in the cache's size
	mu     sync.Mutex  // held while an encoding is built
	// wire are the encodings built, read without mu: the queues a
	// message wakes together all ask at once.
	wire [variants]atomic.Pointer[[]byte]
}

// Variants of a message, as bits.
const (
	variantHTML      = 1 << iota // apply_markdown
	variantRead                  // the user sent it
	variantMentioned             // the rendering mentions the user
	variants         = 1 << 3
)

// preparedMessage is what a message's variants are built from.
type preparedMessage struct {
	facts msgFacts
	r     *renderedMessage
	flags []string                   // as stored
	mm    map[string]json.RawMessage // the message object
}

// wildcards returns the wildcard mentions that flag every recipient.
// Stream wildcards flag every recipient, the sender too; the topic
// wildcard flags a topic's participants, and since herald does not track
// who took part in a topic, every recipient of a stream message.
func (pm *preparedMessage) wildcards() (stream, topic bool) {
	return pm.r.mentions.StreamWildcard, pm.r.mentions.TopicWildcard && !pm.facts.private()
}

// size is about what p holds before any encoding.
func (p *prepared) size() int64 {
	n := 2 * p.in // the event's fields, and the message's
	if p.msg != nil {
		n += int64(len(p.msg.r.html))
	}
	return n
}

// prepare returns the prepared event ev, from the cache.
func (a *API) prepare(ev *eventlog.Event) *prepared {
	return a.events.get(ev.Seq, func() *prepared { return a.prepareEvent(ev) })
}

// prepareEvent parses ev and derives what does not depend on the queue.
// The stored content of a message is Markdown whatever the event claims:
// it is rendered, with the users and streams stored with it, and
// sanitized; HTML is never taken from the log.
func (a *API) prepareEvent(ev *eventlog.Event) *prepared {
	p := &prepared{seq: ev.Seq, typ: topicType(ev.Topic), in: int64(len(ev.Data))}
	if p.typ == "" {
		return p
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(ev.Data, &obj) != nil || obj == nil {
		a.core.Logger.Debug("zulip: skipping an event that is not a JSON object", "seq", ev.Seq, "topic", ev.Topic)
		return p
	}
	switch p.typ {
	case "message":
		pm := &preparedMessage{}
		if json.Unmarshal(obj["message"], &pm.facts) != nil || json.Unmarshal(obj["message"], &pm.mm) != nil {
			return p
		}
		pm.facts.settle()
		pm.r = a.renderStored(pm.facts.Content, obj[refsKey])
		json.Unmarshal(obj["flags"], &pm.flags)
		// herald's own fields, and HTML an older herald stored, are not
		// part of the Zulip event.
		delete(obj, refsKey)
		delete(obj, renderedKey)
		p.msg = pm
	case "typing":
		p.typing = &typingFacts{}
		if json.Unmarshal(ev.Data, p.typing) != nil {
			return p
		}
	default:
		a.rerenderHTML(obj)
	}
	if _, ok := obj["type"]; !ok {
		obj["type"], _ = json.Marshal(p.typ)
	}
	p.obj, p.ok = obj, true
	return p
}

// encoded returns the Zulip event in variant v, encoding it on first use.
// It is nil if the event cannot be encoded.
func (p *prepared) encoded(v int) json.RawMessage {
	if b := p.wire[v].Load(); b != nil {
		return *b
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if b := p.wire[v].Load(); b != nil {
		return *b
	}
	obj := maps.Clone(p.obj)
	if p.msg != nil {
		p.msg.apply(obj, v)
	}
	obj["id"], _ = json.Marshal(eventID(p.seq))
	b, err := json.Marshal(obj)
	if err != nil {
		return nil
	}
	p.wire[v].Store(&b)
	if p.grow != nil {
		p.grow(int64(len(b)))
	}
	return b
}

// apply sets the flags and content of variant v of the message in obj.
func (pm *preparedMessage) apply(obj map[string]json.RawMessage, v int) {
	flags := slices.Clone(pm.flags)
	add := func(f string, set bool) {
		if set && !slices.Contains(flags, f) {
			flags = append(flags, f)
		}
	}
	stream, topic := pm.wildcards()
	add("read", v&variantRead != 0) // one's own message is read, as in Zulip
	add("mentioned", v&variantMentioned != 0)
	add("stream_wildcard_mentioned", stream)
	add("topic_wildcard_mentioned", topic)
	// Zulip's deprecated flag for either, still sent for older clients.
	add("wildcard_mentioned", stream || topic)
	if flags == nil {
		flags = []string{}
	}
	obj["flags"], _ = json.Marshal(flags)
	mm := maps.Clone(pm.mm)
	if v&variantHTML != 0 {
		mm["content"], _ = json.Marshal(pm.r.html)
		mm["content_type"] = json.RawMessage(`"text/html"`)
	} else {
		mm["content_type"] = json.RawMessage(`"text/x-markdown"`)
	}
	obj["message"], _ = json.Marshal(mm)
}

// topicType returns <type> of a topic "zulip.<realm>.<type>[.…]".
func topicType(t string) string {
	parts := strings.SplitN(t, ".", 4)
	if len(parts) < 3 || parts[0] != "zulip" {
		return ""
	}
	return parts[2]
}

// renderedKey is where herald once stored a message's HTML; it is
// never delivered (nor trusted).
const renderedKey = "herald_rendered_content"

// renderedMessage is what delivery derives from a stored message's content.
type renderedMessage struct {
	html     string // the message's HTML, rendered from its Markdown and sanitized
	mentions mentions
}

// renderStored renders a stored message, with content its Markdown and
// refs its stored herald_refs (events without them render user mentions
// and stream links as text, and mention nobody but by wildcard).
func (a *API) renderStored(content string, refs json.RawMessage) *renderedMessage {
	var used usedRefs
	var md *mdRefs
	if len(refs) > 0 && json.Unmarshal(refs, &used) == nil {
		md = used.mdRefs()
	}
	r := render(content, md)
	return &renderedMessage{html: a.san.clean(r.HTML), mentions: r.Mentions}
}

// htmlSources names, for each field of a Zulip event that holds HTML, the
// fields holding the Markdown it is rendered from (the first present).
var htmlSources = map[string][]string{
	"rendered_description":  {"description", "value"}, // stream create, stream update
	"rendered_content":      {"content"},              // update_message
	"orig_rendered_content": {"orig_content"},
}

// rerenderHTML replaces, in event obj and the streams or subscriptions it
// lists, every HTML field by its Markdown rendered and sanitized (by the
// stored HTML sanitized, if the Markdown is missing).
func (a *API) rerenderHTML(obj map[string]json.RawMessage) {
	fix := func(o map[string]json.RawMessage) bool {
		changed := false
		for field, sources := range htmlSources {
			if _, ok := o[field]; !ok {
				continue
			}
			var stored string
			json.Unmarshal(o[field], &stored)
			html := a.san.clean(stored)
			for _, src := range sources {
				var md string
				if json.Unmarshal(o[src], &md) == nil {
					html = a.san.clean(renderMarkdown(md))
					break
				}
			}
			o[field], _ = json.Marshal(html)
			changed = true
		}
		return changed
	}
	fix(obj)
	for _, list := range []string{"streams", "subscriptions"} {
		var items []map[string]json.RawMessage
		if json.Unmarshal(obj[list], &items) != nil {
			continue
		}
		changed := false
		for _, it := range items {
			changed = fix(it) || changed
		}
		if changed {
			obj[list], _ = json.Marshal(items)
		}
	}
}
