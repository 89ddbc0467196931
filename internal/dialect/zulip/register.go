package zulip

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/topic"
)

// queueMeta is what a queue remembers besides its cursor position: the
// register arguments that shape delivery. It is the cursor's Meta.
type queueMeta struct {
	UserID        int64        `json:"user_id"`
	EventTypes    []string     `json:"event_types,omitempty"` // nil: every type
	Narrow        []narrowTerm `json:"narrow,omitempty"`
	ApplyMarkdown bool         `json:"apply_markdown,omitempty"`
	StreamTyping  bool         `json:"stream_typing,omitempty"`
	// Scheme is queueScheme for a queue whose ids are log positions (see
	// ids.go).
	Scheme int `json:"scheme,omitempty"`
}

// wants reports whether the queue receives events of type t.
func (m *queueMeta) wants(t string) bool {
	return m.EventTypes == nil || slices.Contains(m.EventTypes, t)
}

// registerParams are the parameters register (and GET /events without a
// queue_id) accepts; the ones herald does not act on are still accepted.
var registerParams = []string{
	"event_types", "fetch_event_types", "narrow", "all_public_streams", "apply_markdown",
	"client_gravatar", "slim_presence", "include_subscribers", "client_capabilities",
	"queue_lifespan_secs", "lifespan_secs", "user_client", "bulk_message_deletion",
	"stream_typing_notifications", "user_avatar_url_field_optional", "user_settings_object",
}

// queueSpec is a parsed register request.
type queueSpec struct {
	meta     queueMeta
	fetch    []string // initial state sections; nil: those of event_types
	lifespan time.Duration
}

func parseQueueSpec(p *params) (queueSpec, error) {
	var qs queueSpec
	types, err := p.stringList("event_types")
	if err != nil {
		return qs, err
	}
	for _, t := range types {
		// A type becomes a topic token; Zulip's types are all of [a-z_].
		if topic.Validate(t) != nil || strings.Contains(t, ".") {
			return qs, badRequest("Invalid event type: %q", t)
		}
	}
	if types != nil {
		qs.meta.EventTypes = types
		if len(types) == 0 {
			qs.meta.EventTypes = []string{} // Zulip: a queue that receives only heartbeats
		}
	}
	if qs.fetch, err = p.stringList("fetch_event_types"); err != nil {
		return qs, err
	}
	if v, ok := p.str("narrow"); ok && v != "null" {
		if qs.meta.Narrow, err = parseNarrow(v); err != nil {
			return qs, err
		}
	}
	if qs.meta.ApplyMarkdown, err = p.boolean("apply_markdown", false); err != nil {
		return qs, err
	}
	var caps map[string]json.RawMessage
	if _, err := p.json("client_capabilities", &caps); err != nil {
		return qs, err
	}
	qs.meta.StreamTyping = string(caps["stream_typing_notifications"]) == "true"
	for _, b := range []string{"all_public_streams", "client_gravatar", "slim_presence", "include_subscribers"} {
		if _, err := p.boolean(b, false); err != nil {
			return qs, err
		}
	}
	secs, ok, err := p.integer("queue_lifespan_secs")
	if err != nil {
		return qs, err
	}
	if !ok {
		if secs, _, err = p.integer("lifespan_secs"); err != nil { // GET /events' older name
			return qs, err
		}
	}
	if secs < 0 {
		return qs, badRequest("queue_lifespan_secs is too small")
	}
	qs.lifespan = DefaultLifespan
	if secs > 0 {
		qs.lifespan = min(time.Duration(secs)*time.Second, MaxLifespan)
	}
	p.markUsed(registerParams...)
	return qs, nil
}

// filter returns the cursor filter of a queue: the topics of its event
// types, or the whole realm when there are more types than a filter holds
// (delivery then checks the type).
func (qs *queueSpec) filter(realm string) topic.Filter {
	base := "zulip." + realm + "."
	if qs.meta.EventTypes == nil || len(qs.meta.EventTypes) > topic.MaxPatterns {
		return topic.Filter{base + ">"}
	}
	if len(qs.meta.EventTypes) == 0 {
		// Heartbeats only: ':' is in no realm name, so no event has this topic.
		return topic.Filter{"zulip.:none"}
	}
	f := make(topic.Filter, 0, len(qs.meta.EventTypes))
	for _, t := range qs.meta.EventTypes {
		if !slices.Contains(f, base+t) {
			f = append(f, base+t)
		}
	}
	return f
}

// queueCursorID is the cursor of a user's queue. Queue ids are UUIDs; an id
// that is not a single token cannot name a queue.
func queueCursorID(realm, queueID string) (string, bool) {
	if !plainToken(queueID, maxQueueID) {
		return "", false
	}
	return queuePrefix + realm + "." + queueID, true
}

// maxQueueID bounds a queue id as cursor.ValidID bounds a token.
const maxQueueID = 200

// queuePrefix starts every queue's cursor id.
const queuePrefix = "zulip."

// createQueue makes the queue's cursor, starting after the log's current
// end: the queue receives what happens from now on. The cursor is
// followed (cursor.Follow): it stores what the client cannot tell on
// each poll — who owns the queue, what it receives, where it starts, when
// it idles out — and the client's last_event_id is its position.
func (a *API) createQueue(ctx context.Context, u *user, qs queueSpec) (string, cursor.State, *queueMeta, error) {
	after, err := a.core.Start(ctx, dialect.FromNow())
	if err != nil {
		return "", cursor.State{}, nil, err
	}
	meta := qs.meta
	meta.UserID, meta.Scheme = u.ID, queueScheme
	mb, err := json.Marshal(meta)
	if err != nil {
		return "", cursor.State{}, nil, fmt.Errorf("zulip: queue meta: %w", err)
	}
	qid := uuid.NewString()
	id, _ := queueCursorID(u.Realm, qid)
	st, err := a.core.Cursors.Create(ctx, id, cursor.Spec{
		Filter: qs.filter(u.Realm), After: after, Owner: u.KeyID, Meta: mb, IdleTTL: cursor.FollowTTL(qs.lifespan),
	})
	if err != nil {
		return "", cursor.State{}, nil, err
	}
	return qid, st, &meta, nil
}

// register handles POST /api/v1/register: a new queue and the initial
// state of the event types herald supports.
func (a *API) register(w http.ResponseWriter, r *http.Request, u *user) error {
	p, err := readParams(r)
	if err != nil {
		return err
	}
	qs, err := parseQueueSpec(p)
	if err != nil {
		return err
	}
	ctx := r.Context()
	qid, st, _, err := a.createQueue(ctx, u, qs)
	if err != nil {
		return err
	}
	out := map[string]any{
		"queue_id":                             qid,
		"last_event_id":                        -1, // the queue starts empty
		"zulip_version":                        Version,
		"zulip_feature_level":                  FeatureLevel,
		"zulip_merge_base":                     MergeBase,
		"event_queue_longpoll_timeout_seconds": LongpollTimeout,
	}
	if up := a.upstreamOf(u.Email); up != nil {
		return a.upstreamRegister(w, r, up, p, st.ID, out) // upstreamstate.go
	}
	if err := a.initialState(ctx, u, qs, out); err != nil {
		return err
	}
	writeSuccess(w, p.withIgnored(out))
	return nil
}

// initialState adds the state sections the queue's types ask for.
func (a *API) initialState(ctx context.Context, u *user, qs queueSpec, out map[string]any) error {
	sections := qs.fetch
	if sections == nil {
		sections = qs.meta.EventTypes
	}
	want := func(t string) bool { return sections == nil || slices.Contains(sections, t) }
	if want("message") {
		n, err := a.lastID(ctx, "message_id")
		if err != nil {
			return err
		}
		if n == 0 {
			n = -1
		}
		out["max_message_id"] = n
	}
	if want("realm_user") {
		users, err := a.users(ctx, u.Realm)
		if err != nil {
			return err
		}
		members := make([]map[string]any, len(users))
		for i := range users {
			members[i] = memberJSON(&users[i])
		}
		out["realm_users"] = members
		out["realm_non_active_users"] = []any{}
		out["cross_realm_bots"] = []any{}
		out["user_id"], out["email"], out["full_name"] = u.ID, u.Email, u.FullName
	}
	if want("subscription") || want("stream") {
		streams, err := a.clientStreams(ctx, u.Realm)
		if err != nil {
			return err
		}
		objs := make([]map[string]any, len(streams))
		for i := range streams {
			objs[i] = streamJSON(&streams[i])
		}
		if want("stream") {
			out["streams"] = objs
		}
		if want("subscription") {
			subs := make([]map[string]any, len(streams))
			for i := range streams {
				subs[i] = subscriptionJSON(&streams[i])
			}
			out["subscriptions"] = subs
			out["unsubscribed"] = []any{}
			out["never_subscribed"] = []any{}
		}
	}
	if want("presence") {
		out["presences"] = map[string]any{}
		out["server_timestamp"] = float64(time.Now().UnixMilli()) / 1000
	}
	if want("realm") {
		out["realm_name"] = a.cfg.RealmName
	}
	return nil
}
