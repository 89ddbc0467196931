// Package zulipconn is the connector kind that puts herald in front of a
// Zulip server for one identity (a bot's or a user's email and API key):
// the connector holds one event queue upstream, long-polls it, and stores
// every event in the log under the identity's realm, so herald's Zulip
// dialect serves that identity durable queues, fed from the log, that
// outlive Zulip's ten idle minutes and its restarts. Everything else the
// identity's clients call is reverse-proxied to the server (proxy.go).
//
// The order, and what a crash leaves:
//  1. GET /users/me upstream, and make sure the identity is a herald user
//     (zulip.API.Mirror): its realm is where the events go.
//  2. POST /register upstream when there is no queue, and store the
//     position (the queue, its last event id, when it last answered) at
//     once. If the stored queue was lost (BAD_EVENT_QUEUE_ID), append a
//     "gap" event first, naming the time range whose events are not in
//     the log; its id is derived from the lost queue, so a retry stores it
//     once.
//  3. GET /events after the last event id (a connection's first poll with
//     dont_block, so it is known at once whether the queue still lives;
//     then long-polls, whose answers and heartbeats keep it alive); append
//     the answer's events (not its heartbeats) in the queue's order, each
//     with an id derived from the connector, the queue and the event's id,
//     so an append retried within the engine's dedupe window is stored once.
//  4. Store the position (the answer's last id), then poll again. A crash
//     between 3 and 4 polls the same events again (milliseconds: the
//     dedupe window covers it); the upstream keeps them until a poll
//     acknowledges them, so nothing is lost while the queue lives.
package zulipconn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/connector"
	zulipdialect "github.com/herald-io/herald/internal/dialect/zulip"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// Kind is the "zulip" kind.
type Kind struct {
	api *zulipdialect.API

	mu      sync.Mutex // guards proxies
	proxies map[string]*connector.Proxy
}

var (
	_ connector.Kind     = (*Kind)(nil)
	_ connector.Observer = (*Kind)(nil)
)

// New returns the kind, which stores events through api and sets its
// upstreams while zulip connectors exist.
func New(api *zulipdialect.API) *Kind { return &Kind{api: api} }

const (
	callTimeout     = 30 * time.Second
	defaultLongpoll = 90 * time.Second // Zulip's event_queue_longpoll_timeout_seconds
	pollMargin      = 15 * time.Second
	maxAnswer       = 32 << 20
	idPrefix        = "zulip-"
	gapType         = "gap"
)

// Check wants the identity's email and API key.
func (k *Kind) Check(spec connector.Spec) error {
	if a, err := mail.ParseAddress(spec.Email); err != nil || a.Address != spec.Email {
		return errors.New("email: the Zulip identity's email (a bot's or a user's) is required, as a plain address")
	}
	if strings.TrimSpace(spec.Key) == "" {
		return errors.New("key: the identity's Zulip API key is required")
	}
	return nil
}

// position is the connector's stored upstream position.
type position struct {
	QueueID     string    `json:"queue_id"`
	LastEventID int64     `json:"last_event_id"`
	At          time.Time `json:"at"` // when the queue last answered: the log has everything before
}

// session is one Run: the identity's realm once known, the position, and a
// lost queue not yet stated as a gap. Owned by Run's goroutine.
type session struct {
	env      connector.Env
	api      *zulipdialect.API
	up       *client
	realm    string
	pos      position
	stored   bool // pos is the stored position
	lost     *position
	longpoll time.Duration
}

// Run follows the identity's queue until ctx ends.
func (k *Kind) Run(ctx context.Context, env connector.Env) error {
	s := &session{env: env, api: k.api, longpoll: defaultLongpoll, up: &client{
		http: env.HTTP, base: strings.TrimRight(env.Spec.URL, "/"), email: env.Spec.Email, key: env.Spec.Key,
		maxAnswer: maxAnswer, callTimeout: callTimeout,
	}}
	if raw, err := env.Positions.Load(ctx); err != nil {
		return err
	} else if raw != "" {
		if err := json.Unmarshal([]byte(raw), &s.pos); err != nil {
			env.Logger.Warn("zulip connector: stored position unreadable; registering a new queue", "err", err)
			s.pos = position{}
		}
		s.stored = true
	}
	return connector.Retry(ctx, env.Report, &connector.Backoff{}, s.attempt)
}

// attempt is one connection's worth of the order in the package doc.
func (s *session) attempt(ctx context.Context, up func()) error {
	if s.realm == "" {
		id, err := s.up.usersMe(ctx)
		if err != nil {
			return err
		}
		id.Email = s.env.Spec.Email // the login herald's clients use, as the upstream's
		u, err := s.api.Mirror(ctx, id, s.env.Spec.Name)
		if err != nil {
			return fmt.Errorf("zulip connector: the identity's herald user: %w", err)
		}
		if u.UserID != id.UserID {
			s.env.Logger.Warn("zulip connector: the herald user's id is not the upstream's; typing notifications "+
				"to it are not delivered (remove the user and let the connector make it)",
				"email", u.Email, "herald_user_id", u.UserID, "upstream_user_id", id.UserID)
		}
		s.realm = u.Realm
	}
	if s.pos.QueueID == "" {
		r, err := s.up.register(ctx)
		if err != nil {
			return err
		}
		s.pos, s.stored = position{QueueID: r.QueueID, LastEventID: r.LastEventID, At: time.Now().UTC()}, false
		if r.Longpoll > 0 {
			s.longpoll = r.Longpoll
		}
		s.env.Logger.Info("zulip connector: registered an upstream queue", "queue", r.QueueID)
	}
	if s.lost != nil {
		if err := s.appendGap(ctx); err != nil {
			return err
		}
		s.lost = nil
	}
	if !s.stored {
		if err := s.store(ctx); err != nil {
			return err
		}
	}
	connected := false
	for {
		evs, err := s.up.events(ctx, s.pos.QueueID, s.pos.LastEventID, s.longpoll, !connected)
		if errors.Is(err, errBadQueue) {
			s.env.Logger.Warn("zulip connector: the upstream lost its queue; registering another", "queue", s.pos.QueueID)
			if s.pos.At.IsZero() {
				s.pos.At = time.Now().UTC() // a position stored without a time: the gap starts now at the latest
			}
			lost := s.pos
			s.lost, s.pos = &lost, position{}
			return fmt.Errorf("zulip upstream: queue %s: %w; registered again (the gap is stored as an event)", lost.QueueID, err)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !connected {
			connected = true
			up()
		}
		if err := s.ingest(ctx, evs); err != nil {
			return err
		}
	}
}

// ingest appends one answer's events and stores the position after them.
func (s *session) ingest(ctx context.Context, evs []Event) error {
	drafts := make([]eventlog.Draft, 0, len(evs))
	last := s.pos.LastEventID
	for _, ev := range evs {
		if ev.ID <= last {
			continue // acknowledged already: an upstream that sent it again
		}
		last = ev.ID
		if ev.Type == "heartbeat" {
			continue
		}
		d, err := DraftOf(s.env.Spec.Name, s.realm, s.pos.QueueID, ev)
		if err != nil {
			s.env.Logger.Warn("zulip connector: event skipped", "id", ev.ID, "err", err)
			continue
		}
		drafts = append(drafts, d)
	}
	if len(drafts) > 0 {
		acks, err := s.env.Core.Append(ctx, zulipdialect.Dialect, drafts)
		if err != nil {
			return fmt.Errorf("zulip connector: append: %w", err)
		}
		n := 0
		for _, a := range acks {
			if !a.Duplicate {
				n++
			}
		}
		if n > 0 {
			s.env.Report.Ingested(n, acks[len(acks)-1].Time)
		}
	}
	s.pos.LastEventID, s.pos.At = last, time.Now().UTC()
	return s.store(ctx)
}

func (s *session) store(ctx context.Context) error {
	b, _ := json.Marshal(s.pos) // plain fields: always encodes
	if err := s.env.Positions.Store(ctx, string(b)); err != nil {
		return fmt.Errorf("zulip connector: store position: %w", err)
	}
	s.stored = true
	return nil
}

// ErrNotEvent is returned by DraftOf for an event herald cannot store
// under a topic.
var ErrNotEvent = errors.New("zulip: not a storable event")

// DraftOf returns the draft that stores ev, an event of the upstream queue
// queueID, in realm: on topic "zulip.<realm>.<type>", its bytes as the
// upstream sent them (invalid UTF-8 replaced), so the Zulip dialect serves
// it as a Zulip event of that type (with herald's own id). Its id is a
// digest of the connector's name, the queue and the event's id.
func DraftOf(name, realm, queueID string, ev Event) (eventlog.Draft, error) {
	if ev.Type == "" || strings.Contains(ev.Type, ".") || topic.Validate(ev.Type) != nil {
		return eventlog.Draft{}, fmt.Errorf("%w: type %.40q", ErrNotEvent, ev.Type)
	}
	t := zulipdialect.Topic(realm, ev.Type)
	if topic.Validate(t) != nil {
		return eventlog.Draft{}, fmt.Errorf("%w: topic %.80q", ErrNotEvent, t)
	}
	return eventlog.Draft{ID: derivedID(name, queueID, strconv.FormatInt(ev.ID, 10)), Topic: t, Type: ev.Type,
		Data: bytes.ToValidUTF8(ev.Raw, []byte("\uFFFD"))}, nil
}

// derivedID is a stable herald id for what parts name.
func derivedID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return idPrefix + hex.EncodeToString(sum[:16])
}

// appendGap states in the log that the upstream lost s.lost: what it sent
// the identity from the lost queue's last answer until the new queue
// started is not in the log. Clients of the realm's queues receive it as
// an event of type "gap".
func (s *session) appendGap(ctx context.Context) error {
	d := GapDraft(s.env.Spec.Name, s.realm, s.lost.QueueID, s.lost.At, s.pos.At)
	acks, err := s.env.Core.Append(ctx, zulipdialect.Dialect, []eventlog.Draft{d})
	if err != nil {
		return fmt.Errorf("zulip connector: append the gap: %w", err)
	}
	if !acks[0].Duplicate {
		s.env.Report.Ingested(1, acks[0].Time)
	}
	s.env.Logger.Warn("zulip connector: events lost upstream; the gap is stored",
		"lost_queue", s.lost.QueueID, "since", s.lost.At, "until", s.pos.At)
	return nil
}

// GapDraft is the "gap" event of a queue lost upstream: since is when it
// last answered, until when the next queue was registered (Unix seconds,
// as Zulip's timestamps). Its id is derived from the lost queue.
func GapDraft(name, realm, lostQueue string, since, until time.Time) eventlog.Draft {
	secs := func(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
	data, _ := json.Marshal(map[string]any{ // plain values: always encodes
		"type": gapType, "connector": name, "lost_queue_id": lostQueue,
		"since": secs(since), "until": secs(until),
		"msg": "the Zulip server lost herald's event queue: events of this identity between since and until are missing",
	})
	return eventlog.Draft{ID: derivedID(name, gapType, lostQueue), Topic: zulipdialect.Topic(realm, gapType),
		Type: gapType, Data: data}
}
