package zulip

import (
	"cmp"
	"context"
	"encoding/json"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-io/herald/internal/eventlog"
)

// publish appends one Zulip event of type typ, in the realm, through the
// core's single append path.
func (a *API) publish(ctx context.Context, realm, typ string, ev any) (eventlog.Ack, error) {
	data, err := json.Marshal(ev)
	if err != nil {
		return eventlog.Ack{}, err
	}
	acks, err := a.core.Append(ctx, dialectName, []eventlog.Draft{{
		Topic: "zulip." + realm + "." + typ, Type: typ, Data: data,
	}})
	if err != nil {
		return eventlog.Ack{}, err
	}
	return acks[0], nil
}

// sendMessage handles POST /api/v1/messages: a stream or direct message,
// published as one "message" event that every matching queue receives.
func (a *API) sendMessage(w http.ResponseWriter, r *http.Request, u *user) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	typ, ok := p.str("type")
	if !ok {
		return missingArgument("type")
	}
	to, ok := p.str("to")
	if !ok {
		return missingArgument("to")
	}
	content, ok := p.str("content")
	if !ok {
		return missingArgument("content")
	}
	p.markUsed("queue_id", "local_id", "read_by_sender")
	if strings.TrimSpace(content) == "" {
		return badRequest("Message must not be empty")
	}
	content = truncate(content, MaxContent, "\n[message truncated]")
	var stream *streamRecord // of a stream message
	msg := map[string]any{
		"sender_id": u.ID, "sender_email": u.Email, "sender_full_name": u.FullName,
		"sender_realm_str": u.Realm, "avatar_url": nil, "client": clientName(r),
		"content": content, "content_type": "text/x-markdown",
		"is_me_message": strings.HasPrefix(content, "/me "), "reactions": []any{},
		"submessages": []any{}, "topic_links": []any{},
		"timestamp": time.Now().Unix(),
	}
	switch typ {
	case "stream", "channel":
		topic, ok := p.str("topic")
		if !ok {
			topic, ok = p.str("subject")
		}
		if !ok || strings.TrimSpace(topic) == "" {
			return badRequest("Missing topic")
		}
		s, err := a.resolveStream(ctx, u.Realm, to)
		if err != nil {
			return err
		}
		msg["type"], msg["stream_id"], msg["display_recipient"] = "stream", s.StreamID, s.Name
		msg["subject"], msg["recipient_id"] = truncate(strings.TrimSpace(topic), MaxTopic, "..."), s.StreamID
		stream = &s
	case "private", "direct":
		parts, err := a.resolveUsers(ctx, u, to)
		if err != nil {
			return err
		}
		msg["type"], msg["subject"], msg["display_recipient"] = "private", "", parts
		msg["recipient_id"] = conversationID(parts)
	default:
		return badRequest("Invalid message type")
	}
	refs, err := a.messageRefs(ctx, u.Realm, content)
	if err != nil {
		return err
	}
	id, err := a.nextID(ctx, "message_id")
	if err != nil {
		return err
	}
	msg["id"] = id
	ev := map[string]any{"type": "message", "flags": []string{}, "message": msg}
	if refs != nil {
		ev[refsKey] = refs
	}
	ack, err := a.publish(ctx, u.Realm, "message", ev)
	if err != nil {
		return err
	}
	if stream != nil {
		a.noteStreamMessage(ctx, stream, id, ack.Seq)
	}
	writeSuccess(w, p.withIgnored(map[string]any{"id": id}))
	return nil
}

// refsKey holds, in a stored message event, the users and streams its
// Markdown mentions and links to, resolved when it was sent, as in Zulip
// (see usedRefs). Delivery renders the message from its stored Markdown
// with them, and removes them from the event.
const refsKey = "herald_refs"

// messageRefs resolves the mentions and stream links of content in the
// realm. The users and streams are read only if content may mention or
// link them.
func (a *API) messageRefs(ctx context.Context, realm, content string) (*usedRefs, error) {
	var users []userRecord
	var streams []streamRecord
	var err error
	if strings.Contains(content, "@**") || strings.Contains(content, "@_**") {
		if users, err = a.users(ctx, realm); err != nil {
			return nil, err
		}
	}
	if strings.Contains(content, "#**") {
		if streams, err = a.streams(ctx, realm); err != nil {
			return nil, err
		}
	}
	if users == nil && streams == nil {
		return nil, nil
	}
	refs := render(content, newMDRefs(users, streams)).Refs
	if len(refs.Users) == 0 && len(refs.Streams) == 0 {
		return nil, nil
	}
	return &refs, nil
}

// resolveStream finds a stream by name, by JSON id, or by a one-element
// JSON list (python-zulip-api's older style).
func (a *API) resolveStream(ctx context.Context, realm, to string) (streamRecord, error) {
	name := to
	var id int64
	var list []string
	switch {
	case json.Unmarshal([]byte(to), &id) == nil:
		name = ""
	case json.Unmarshal([]byte(to), &list) == nil && len(list) == 1:
		name = list[0]
	}
	s, ok, err := a.findStream(ctx, realm, name, id)
	if err != nil {
		return s, err
	}
	if !ok && name == "" {
		return s, badRequest("Invalid channel ID")
	}
	if !ok {
		return s, &apiError{status: http.StatusBadRequest, code: codeNoStream,
			msg: "Channel '" + name + "' does not exist", data: map[string]any{"stream": name}}
	}
	return s, nil
}

// dmParticipant is an entry of a direct message's display_recipient.
type dmParticipant struct {
	ID           int64  `json:"id"`
	Email        string `json:"email"`
	FullName     string `json:"full_name"`
	IsMirrorDumm bool   `json:"is_mirror_dummy"`
}

// resolveUsers resolves a direct message's "to" (emails or user ids) in the
// sender's realm, and returns every participant, sender included, by id.
func (a *API) resolveUsers(ctx context.Context, u *user, to string) ([]dmParticipant, error) {
	emails, ids, err := parseRecipients(to)
	if err != nil {
		return nil, err
	}
	all, err := a.users(ctx, u.Realm)
	if err != nil {
		return nil, err
	}
	parts := []dmParticipant{{ID: u.ID, Email: u.Email, FullName: u.FullName}}
	addUser := func(rec *userRecord) {
		if !slices.ContainsFunc(parts, func(p dmParticipant) bool { return p.ID == rec.UserID }) {
			parts = append(parts, dmParticipant{ID: rec.UserID, Email: rec.Email, FullName: rec.FullName})
		}
	}
	for _, e := range emails {
		i := slices.IndexFunc(all, func(r userRecord) bool { return strings.EqualFold(r.Email, e) })
		if i < 0 {
			return nil, badRequest("Invalid email '%s'", e)
		}
		addUser(&all[i])
	}
	for _, id := range ids {
		i := slices.IndexFunc(all, func(r userRecord) bool { return r.UserID == id })
		if i < 0 {
			return nil, badRequest("Invalid user ID %d", id)
		}
		addUser(&all[i])
	}
	slices.SortFunc(parts, func(x, y dmParticipant) int { return cmp.Compare(x.ID, y.ID) })
	return parts, nil
}

// conversationID is a stable recipient_id for a set of participants.
func conversationID(parts []dmParticipant) int64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(strconv.FormatInt(p.ID, 10) + ","))
	}
	return int64(h.Sum64()>>34) + 1_000_000 // positive, apart from stream ids
}

// clientName is the client Zulip shows for a message: the User-Agent's
// product ("ZulipPython/0.9.0 (…)" → "ZulipPython").
func clientName(r *http.Request) string {
	ua := r.Header.Get("User-Agent")
	if i := strings.IndexAny(ua, "/ "); i >= 0 {
		ua = ua[:i]
	}
	if ua == "" {
		return "API"
	}
	return truncate(ua, 30, "")
}

// truncate cuts s to at most n runes, ending with suffix when cut.
func truncate(s string, n int, suffix string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	keep := max(0, n-utf8.RuneCountInString(suffix))
	return string(r[:keep]) + suffix
}

// typing handles POST /api/v1/typing: a "typing" event for a direct
// conversation (to: user ids) or a stream topic (stream_id, topic).
func (a *API) typing(w http.ResponseWriter, r *http.Request, u *user) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	op, ok := p.str("op")
	if !ok {
		return missingArgument("op")
	}
	if op != "start" && op != "stop" {
		return badRequest("Invalid op")
	}
	typ, _ := p.str("type")
	ev := map[string]any{"type": "typing", "op": op, "sender": map[string]any{"user_id": u.ID, "email": u.Email}}
	switch typ {
	case "", "direct", "private":
		to, ok := p.str("to")
		if !ok {
			return missingArgument("to")
		}
		parts, err := a.resolveUsers(ctx, u, to)
		if err != nil {
			return err
		}
		rcpts := make([]map[string]any, len(parts))
		for i, pt := range parts {
			rcpts[i] = map[string]any{"user_id": pt.ID, "email": pt.Email}
		}
		ev["message_type"], ev["recipients"] = "direct", rcpts
	case "stream", "channel":
		sid, ok, err := p.integer("stream_id")
		if err != nil {
			return err
		}
		if !ok {
			return missingArgument("stream_id")
		}
		topic, ok := p.str("topic")
		if !ok {
			return missingArgument("topic")
		}
		if _, found, err := a.findStream(ctx, u.Realm, "", sid); err != nil || !found {
			if err == nil {
				err = badRequest("Invalid channel ID")
			}
			return err
		}
		ev["message_type"], ev["stream_id"], ev["topic"] = "stream", sid, topic
	default:
		return badRequest("Invalid type")
	}
	if _, err := a.publish(ctx, u.Realm, "typing", ev); err != nil {
		return err
	}
	writeSuccess(w, p.withIgnored(map[string]any{}))
	return nil
}

// presence handles POST /api/v1/users/me/presence: a legacy-format
// "presence" event for the realm.
func (a *API) presence(w http.ResponseWriter, r *http.Request, u *user) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	status, ok := p.str("status")
	if !ok {
		return missingArgument("status")
	}
	if status != "active" && status != "idle" {
		return badRequest("Invalid status: %s", status)
	}
	for _, b := range []string{"ping_only", "new_user_input", "slim_presence"} {
		if _, err := p.boolean(b, false); err != nil {
			return err
		}
	}
	p.markUsed("last_update_id", "history_limit_days")
	now := time.Now()
	ts := float64(now.UnixMilli()) / 1000
	if _, err := a.publish(r.Context(), u.Realm, "presence", map[string]any{
		"type": "presence", "user_id": u.ID, "email": u.Email, "server_timestamp": ts,
		"presence": map[string]any{"website": map[string]any{
			"status": status, "timestamp": now.Unix(), "client": "website", "pushable": false}},
	}); err != nil {
		return err
	}
	writeSuccess(w, p.withIgnored(map[string]any{"presences": map[string]any{}, "server_timestamp": ts}))
	return nil
}
