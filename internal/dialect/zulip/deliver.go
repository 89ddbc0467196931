package zulip

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/herald-io/herald/internal/eventlog"
)

// delivery translates the events of one poll for one user's queue: the
// queue's types, what the user may see, the narrow, the per-user message
// flags, Markdown or HTML, and the event id. Events stored under the
// queue's topics that are not Zulip events (not a JSON object) are passed
// over. The cursor asks keep while it forms a batch; the events that it
// answers with reuse those translations.
type delivery struct {
	a    *API
	meta *queueMeta
	u    *user
	objs map[uint64]map[string]json.RawMessage // by sequence, the kept events
}

func (a *API) newDelivery(meta *queueMeta, u *user) *delivery {
	return &delivery{a: a, meta: meta, u: u, objs: map[uint64]map[string]json.RawMessage{}}
}

// keep reports whether the user receives ev (a cursor.PollRequest's Keep).
func (d *delivery) keep(ev *eventlog.Event) bool {
	if _, ok := d.objs[ev.Seq]; ok {
		return true
	}
	obj, ok := d.a.translate(ev, d.meta, d.u)
	if ok {
		d.objs[ev.Seq] = obj
	}
	return ok
}

// events returns the Zulip events of evs, with their ids (see ids.go).
func (d *delivery) events(evs []eventlog.Event) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(evs))
	for i := range evs {
		ev := &evs[i]
		if !d.keep(ev) {
			continue
		}
		obj := d.objs[ev.Seq]
		obj["id"], _ = json.Marshal(eventID(ev.Seq))
		b, err := json.Marshal(obj)
		if err != nil {
			continue
		}
		out = append(out, b)
	}
	return out
}

// translate returns the Zulip event (without its id) that ev is for user u
// of a queue with meta; false if the queue does not receive it.
func (a *API) translate(ev *eventlog.Event, meta *queueMeta, u *user) (map[string]json.RawMessage, bool) {
	typ := topicType(ev.Topic)
	if typ == "" || !meta.wants(typ) {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(ev.Data, &obj) != nil || obj == nil {
		a.core.Logger.Debug("zulip: skipping an event that is not a JSON object", "seq", ev.Seq, "topic", ev.Topic)
		return nil, false
	}
	switch typ {
	case "message":
		if !a.messageFor(ev.Seq, obj, meta, u) {
			return nil, false
		}
	case "typing":
		if !typingFor(obj, meta, u) {
			return nil, false
		}
	default:
		a.rerenderHTML(obj)
	}
	if _, ok := obj["type"]; !ok {
		obj["type"], _ = json.Marshal(typ)
	}
	return obj, true
}

// topicType returns <type> of a topic "zulip.<realm>.<type>[.…]".
func topicType(t string) string {
	parts := strings.SplitN(t, ".", 4)
	if len(parts) < 3 || parts[0] != "zulip" {
		return ""
	}
	return parts[2]
}

// messageFor adapts a message event to user u in place; false if u may not
// see it or the queue's narrow excludes it. Direct messages go only to
// their participants; stream messages to the whole realm (herald's streams
// are public and everyone is subscribed). The stored content is Markdown
// whatever the event claims: an apply_markdown queue gets it rendered,
// with the users and streams stored with it, and sanitized; HTML is never
// taken from the log.
func (a *API) messageFor(seq uint64, obj map[string]json.RawMessage, meta *queueMeta, u *user) bool {
	var m msgFacts
	if json.Unmarshal(obj["message"], &m) != nil {
		return false
	}
	if m.private() && !slices.ContainsFunc(m.participants(), func(p participant) bool {
		return p.ID == u.ID || strings.EqualFold(p.Email, u.Email)
	}) {
		return false
	}
	// The flags come from what the rendering mentions, as Zulip's do.
	// Stream wildcards flag every recipient, the sender too; the topic
	// wildcard flags a topic's participants, and since herald does not
	// track who took part in a topic, every recipient of a stream message.
	r := a.renderStored(seq, m.Content, obj[refsKey])
	mentioned := slices.Contains(r.mentions.UserIDs, u.ID)
	streamWildcard := r.mentions.StreamWildcard
	topicWildcard := r.mentions.TopicWildcard && !m.private()
	if len(meta.Narrow) > 0 && !matchNarrow(meta.Narrow, &m, u, mentioned || streamWildcard || topicWildcard) {
		return false
	}
	var flags []string
	json.Unmarshal(obj["flags"], &flags)
	add := func(f string, set bool) {
		if set && !slices.Contains(flags, f) {
			flags = append(flags, f)
		}
	}
	add("read", m.SenderID == u.ID) // one's own message is read, as in Zulip
	add("mentioned", mentioned)
	add("stream_wildcard_mentioned", streamWildcard)
	add("topic_wildcard_mentioned", topicWildcard)
	// Zulip's deprecated flag for either, still sent for older clients.
	add("wildcard_mentioned", streamWildcard || topicWildcard)
	if flags == nil {
		flags = []string{}
	}
	obj["flags"], _ = json.Marshal(flags)
	var mm map[string]json.RawMessage
	if json.Unmarshal(obj["message"], &mm) != nil {
		return false
	}
	if meta.ApplyMarkdown {
		mm["content"], _ = json.Marshal(r.html)
		mm["content_type"] = json.RawMessage(`"text/html"`)
	} else {
		mm["content_type"] = json.RawMessage(`"text/x-markdown"`)
	}
	obj["message"], _ = json.Marshal(mm)
	// herald's own fields, and HTML an older herald stored, are not part
	// of the Zulip event.
	delete(obj, refsKey)
	delete(obj, renderedKey)
	return true
}

// renderedKey is where herald once stored a message's HTML; it is
// never delivered (nor trusted).
const renderedKey = "herald_rendered_content"

// renderStored returns what delivery derives from the stored message at
// seq, with content its Markdown and refs its stored herald_refs (events
// without them render user mentions and stream links as text, and mention
// nobody but by wildcard).
func (a *API) renderStored(seq uint64, content string, refs json.RawMessage) *renderedMessage {
	return a.renders.get(seq, func() *renderedMessage {
		var used usedRefs
		var md *mdRefs
		if len(refs) > 0 && json.Unmarshal(refs, &used) == nil {
			md = used.mdRefs()
		}
		r := render(content, md)
		return &renderedMessage{html: a.san.clean(r.HTML), mentions: r.Mentions}
	})
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

// typingFor reports whether u receives a typing event: direct typing goes
// to the conversation's participants, stream typing only to queues that
// declared the stream_typing_notifications capability.
func typingFor(obj map[string]json.RawMessage, meta *queueMeta, u *user) bool {
	var t struct {
		MessageType string `json:"message_type"`
		Sender      struct {
			UserID int64 `json:"user_id"`
		} `json:"sender"`
		Recipients []struct {
			UserID int64 `json:"user_id"`
		} `json:"recipients"`
	}
	if json.Unmarshal(mustObject(obj), &t) != nil {
		return false
	}
	if t.MessageType == "stream" || t.MessageType == "channel" {
		return meta.StreamTyping
	}
	if t.Sender.UserID == u.ID {
		return true
	}
	for _, r := range t.Recipients {
		if r.UserID == u.ID {
			return true
		}
	}
	return false
}

func mustObject(obj map[string]json.RawMessage) []byte {
	b, _ := json.Marshal(obj)
	return b
}
