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

// events returns the Zulip events of evs, ids shifted by the queue's
// heartbeats (see ids.go).
func (d *delivery) events(evs []eventlog.Event, heartbeats uint64) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(evs))
	for i := range evs {
		ev := &evs[i]
		if !d.keep(ev) {
			continue
		}
		obj := d.objs[ev.Seq]
		obj["id"], _ = json.Marshal(ev.Seq + heartbeats)
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
		if !messageFor(obj, meta, u) {
			return nil, false
		}
	case "typing":
		if !typingFor(obj, meta, u) {
			return nil, false
		}
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

// wildcards are the mentions that notify everyone in a conversation.
var wildcards = []string{"@**all**", "@**everyone**", "@**stream**", "@**channel**", "@**topic**"}

// messageFor adapts a message event to user u in place; false if u may not
// see it or the queue's narrow excludes it. Direct messages go only to
// their participants; stream messages to the whole realm (herald's streams
// are public and everyone is subscribed).
func messageFor(obj map[string]json.RawMessage, meta *queueMeta, u *user) bool {
	var m msgFacts
	if json.Unmarshal(obj["message"], &m) != nil {
		return false
	}
	if m.private() && !slices.ContainsFunc(m.participants(), func(p participant) bool {
		return p.ID == u.ID || strings.EqualFold(p.Email, u.Email)
	}) {
		return false
	}
	mentioned := u.FullName != "" && strings.Contains(m.Content, "@**"+u.FullName+"**")
	wildcard := !mentioned && slices.ContainsFunc(wildcards, func(w string) bool { return strings.Contains(m.Content, w) })
	if len(meta.Narrow) > 0 && !matchNarrow(meta.Narrow, &m, u, mentioned || wildcard) {
		return false
	}
	var flags []string
	json.Unmarshal(obj["flags"], &flags)
	add := func(f string) {
		if !slices.Contains(flags, f) {
			flags = append(flags, f)
		}
	}
	if m.SenderID == u.ID {
		add("read") // one's own message is read, as in Zulip
	}
	if mentioned {
		add("mentioned")
	}
	if wildcard && m.SenderID != u.ID {
		add("wildcard_mentioned")
	}
	if flags == nil {
		flags = []string{}
	}
	obj["flags"], _ = json.Marshal(flags)
	// The HTML rendered when the message was sent (with the realm's users
	// and streams) is herald's, not part of the Zulip event.
	var rendered *string
	json.Unmarshal(obj[renderedKey], &rendered)
	delete(obj, renderedKey)
	if meta.ApplyMarkdown && m.ContentType == "text/x-markdown" {
		var mm map[string]json.RawMessage
		if json.Unmarshal(obj["message"], &mm) == nil {
			if rendered == nil {
				// Sent before herald rendered at send time: no mentions.
				r := renderMarkdown(m.Content)
				rendered = &r
			}
			mm["content"], _ = json.Marshal(*rendered)
			mm["content_type"], _ = json.Marshal("text/html")
			obj["message"], _ = json.Marshal(mm)
		}
	}
	return true
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
