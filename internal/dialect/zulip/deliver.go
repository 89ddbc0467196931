package zulip

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/herald-io/herald/internal/eventlog"
)

// delivery decides, for one poll of one user's queue, which events the
// queue receives and in which variant: the queue's types, what the user may
// see, the narrow, the per-user message flags, Markdown or HTML. What does
// not depend on the queue is derived once per process and shared
// (prepare.go), so that a message to many queues is parsed, rendered and
// encoded once per variant, not once per queue. Events stored under the
// queue's topics that are not Zulip events (not a JSON object) are passed
// over. The cursor asks keep while it forms the answer; events encodes it.
type delivery struct {
	a    *API
	meta *queueMeta
	u    *user
	kept []keptEvent  // by sequence; a poll keeps a few
	buf  [2]keptEvent // kept's first backing array
}

type keptEvent struct {
	seq     uint64
	p       *prepared
	variant int
}

func (a *API) newDelivery(meta *queueMeta, u *user) *delivery {
	d := &delivery{}
	a.initDelivery(d, meta, u)
	return d
}

// initDelivery makes d the delivery of one poll of u's queue of meta.
func (a *API) initDelivery(d *delivery, meta *queueMeta, u *user) {
	*d = delivery{a: a, meta: meta, u: u}
	d.kept = d.buf[:0]
}

// find returns where the event at seq is, or would be, in d.kept.
func (d *delivery) find(seq uint64) (int, bool) {
	// The cursor asks in order: the last one is the likely place.
	if n := len(d.kept); n == 0 || d.kept[n-1].seq < seq {
		return n, false
	}
	return slices.BinarySearchFunc(d.kept, seq, func(k keptEvent, seq uint64) int { return cmp.Compare(k.seq, seq) })
}

// keep reports whether the user receives ev (a cursor request's Keep).
func (d *delivery) keep(ev *eventlog.Event) bool {
	i, ok := d.find(ev.Seq)
	if ok {
		return true
	}
	p := d.a.prepare(ev)
	v, ok := d.variant(p)
	if ok {
		d.kept = slices.Insert(d.kept, i, keptEvent{ev.Seq, p, v})
	}
	return ok
}

// appendEvent appends the Zulip event of ev to out if the queue receives it.
func (d *delivery) appendEvent(out []json.RawMessage, ev *eventlog.Event) []json.RawMessage {
	if !d.keep(ev) {
		return out
	}
	j, _ := d.find(ev.Seq)
	if k := d.kept[j]; k.p.encoded(k.variant) != nil {
		out = append(out, k.p.encoded(k.variant))
	}
	return out
}

// variant returns the variant of p the queue receives; false if none.
func (d *delivery) variant(p *prepared) (int, bool) {
	if !p.ok || !d.meta.wants(p.typ) {
		return 0, false
	}
	switch p.typ {
	case "message":
		return d.message(p.msg)
	case "typing":
		return 0, typingFor(p.typing, d.meta, d.u)
	}
	return 0, true
}

// message returns the variant of a message the queue receives; false if
// the user may not see it or the queue's narrow excludes it. Direct
// messages go only to their participants; stream messages to the whole
// realm (herald's streams are public and everyone is subscribed). The
// flags come from what the rendering mentions, as Zulip's do.
func (d *delivery) message(pm *preparedMessage) (int, bool) {
	m, u := &pm.facts, d.u
	if m.private() && !slices.ContainsFunc(m.participants(), func(p participant) bool {
		return p.ID == u.ID || strings.EqualFold(p.Email, u.Email)
	}) {
		return 0, false
	}
	mentioned := slices.Contains(pm.r.mentions.UserIDs, u.ID)
	stream, topic := pm.wildcards()
	if len(d.meta.Narrow) > 0 && !matchNarrow(d.meta.Narrow, m, u, mentioned || stream || topic) {
		return 0, false
	}
	v := 0
	if d.meta.ApplyMarkdown {
		v |= variantHTML
	}
	if m.SenderID == u.ID {
		v |= variantRead
	}
	if mentioned {
		v |= variantMentioned
	}
	return v, true
}

// typingFacts is what decides who receives a typing event.
type typingFacts struct {
	MessageType string `json:"message_type"`
	Sender      struct {
		UserID int64 `json:"user_id"`
	} `json:"sender"`
	Recipients []struct {
		UserID int64 `json:"user_id"`
	} `json:"recipients"`
}

// typingFor reports whether u receives a typing event: direct typing goes
// to the conversation's participants, stream typing only to queues that
// declared the stream_typing_notifications capability.
func typingFor(t *typingFacts, meta *queueMeta, u *user) bool {
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
