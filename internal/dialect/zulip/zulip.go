// Package zulip serves Zulip's real-time events API (register, long-polled
// event queues, sending messages) over herald's core, so that unmodified
// Zulip clients such as python-zulip-api and zulip-js work against herald.
//
// It is a thin translation: a Zulip event queue is a followed cursor of the
// core (internal/cursor) whose filter is the topics "zulip.<realm>.<type>"
// of the queue's event types; a queue's event ids are log positions
// (ids.go), so a poll's "last_event_id" is where it starts, and a long-poll
// is a cursor Follow with a wait, which writes nothing. What
// Zulip decides per user (who may see a direct message, a
// queue's narrow, the sender's "read" flag, Markdown or not) is decided here,
// when an event is delivered, so every event is stored only once.
package zulip

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// Defaults and limits of the Zulip dialect.
const (
	// DefaultLifespan is how long an idle queue lives (Zulip's
	// DEFAULT_EVENT_QUEUE_TIMEOUT_SECS); MaxLifespan caps queue_lifespan_secs.
	DefaultLifespan = 10 * time.Minute
	MaxLifespan     = 7 * 24 * time.Hour
	// LongpollTimeout is what register advertises as
	// event_queue_longpoll_timeout_seconds; the heartbeat comes well before it.
	LongpollTimeout = 90
	// DefaultMaxQueueEvents is the queue cap: a queue with more events
	// pending is expired (BAD_EVENT_QUEUE_ID), never trimmed silently.
	DefaultMaxQueueEvents = 10000
	// DefaultMaxBatch bounds the events one GET /events returns; the client
	// gets the rest on its next poll.
	DefaultMaxBatch = 1000
	// MaxBody bounds request bodies.
	MaxBody = 1 << 20
	// MaxContent and MaxTopic are where Zulip truncates messages and topics.
	MaxContent = 10000
	MaxTopic   = 60

	// Version, FeatureLevel and MergeBase are the Zulip server herald
	// claims to be; clients (python-zulip-api) refuse a server without them.
	Version      = "9.0"
	FeatureLevel = 237
	MergeBase    = "9.0"

	kvBucket    = "herald-zulip"
	dialectName = "zulip"
)

// Config tunes the dialect; the zero value is Zulip's behaviour.
type Config struct {
	// Heartbeat is how long a poll blocks with nothing to deliver before it
	// answers with a heartbeat. Zero: 45 s plus a random 0–10 s, like Zulip
	// (spread out, and well under the clients' 90 s read timeout).
	Heartbeat time.Duration
	// MaxQueueEvents caps a queue's pending events (default 10000).
	MaxQueueEvents int
	// MaxBatch bounds the events one poll returns (default 1000).
	MaxBatch int
	// DefaultRealm is the realm of users added without one ("zulip").
	DefaultRealm string
	// RealmName is shown by server_settings ("herald").
	RealmName string
}

// API serves the Zulip endpoints.
type API struct {
	core  *dialect.Core
	cfg   Config
	kv    eventlog.KV
	polls *polls
	// san sanitizes the HTML delivered; events holds what delivery derives
	// from each stored event (see eventcache.go).
	san      *sanitizer
	events   *eventCache
	metas    *metaCache     // queues' metas, decoded
	keyUsers *keyUsers      // the users of keys, read out of them
	answers  answers        // polls' answers, reused
	guard    *dialect.Guard // the request pipeline, in Zulip's shape
	// bg is the context of what a parked poll asks when it answers: its
	// request is over, and shutting down lets it finish.
	bg              context.Context
	eventsDelivered prometheus.Counter
	// upstreams are the identities zulip connectors mirror (upstream.go).
	upstreams atomic.Pointer[upstreams]
}

// validRealm reports whether s can be a realm: 1 to 63 letters, digits,
// '-' or '_' (a topic token, in every key's scope).
func validRealm(s string) bool { return plainToken(s, 63) }

// plainToken reports whether s is 1 to max ASCII letters, digits, '-' or
// '_' (checked on every request: a loop, not a regexp).
func plainToken(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// New builds the Zulip dialect over the core; it opens the dialect's KV
// bucket (users, streams, counters).
func New(core *dialect.Core, cfg Config) (*API, error) {
	if cfg.MaxQueueEvents <= 0 {
		cfg.MaxQueueEvents = DefaultMaxQueueEvents
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	cfg.MaxBatch = min(cfg.MaxBatch, eventlog.MaxRead)
	if cfg.DefaultRealm == "" {
		cfg.DefaultRealm = "zulip"
	}
	if !validRealm(cfg.DefaultRealm) {
		return nil, fmt.Errorf("zulip: default realm %q: use letters, digits, '-' and '_'", cfg.DefaultRealm)
	}
	if cfg.RealmName == "" {
		cfg.RealmName = "herald"
	}
	if core == nil || core.Log == nil || core.Cursors == nil || core.Auth == nil || core.Hub == nil {
		return nil, errors.New("zulip: incomplete core")
	}
	// New has no context of its own; opening a bucket is one short request.
	kv, err := core.Log.KV(context.Background(), kvBucket)
	if err != nil {
		return nil, fmt.Errorf("zulip: open %s: %w", kvBucket, err)
	}
	a := &API{core: core, cfg: cfg, kv: kv, polls: newPolls(), san: newSanitizer(),
		events: newEventCache(eventCacheBytes), metas: newMetaCache(metaCacheEntries),
		keyUsers: newKeyUsers(keyUsersEntries), bg: context.WithoutCancel(core.Shutdown),
		eventsDelivered: core.Metrics.EventsDelivered.WithLabelValues(dialectName)}
	a.guard = core.Guard(a.guardSpec())
	core.Faults.OnChange(a.expireWaiting)
	// Queues' polls check their queue through this node's watch of them.
	core.Go(func(ctx context.Context) {
		if err := core.Cursors.WatchFollowed(ctx, queuePrefix); err != nil {
			core.Logger.Error("zulip: watch of queues", "err", err)
		}
	})
	return a, nil
}

// heartbeatAfter returns how long the next poll may block.
func (a *API) heartbeatAfter() time.Duration {
	if a.cfg.Heartbeat > 0 {
		return a.cfg.Heartbeat
	}
	return 45*time.Second + rand.N(10*time.Second)
}

// Mount registers the routes on mux: the Zulip API under /api/v1/ (exact
// patterns only: /api/ is shared with other dialects) and the admin
// endpoints under /v1/zulip/.
func (a *API) Mount(mux *http.ServeMux) {
	// A mirrored identity's queues are herald's; what it does besides is
	// its upstream's (upstream.go).
	queues := func(pattern string, h userHandler) { mux.Handle(pattern, a.authenticated(h)) }
	route := func(pattern string, h userHandler) { mux.Handle(pattern, a.authenticated(a.orUpstream(h))) }
	mux.HandleFunc("GET /api/v1/server_settings", a.serverSettings)
	mux.HandleFunc("POST /api/v1/server_settings", a.serverSettings)
	mux.HandleFunc("POST /api/v1/fetch_api_key", a.fetchAPIKey)
	queues("POST /api/v1/register", a.register)
	queues("GET /api/v1/events", a.getEvents)
	queues("DELETE /api/v1/events", a.deleteEvents)
	route("POST /api/v1/messages", a.sendMessage)
	route("POST /api/v1/typing", a.typing)
	route("POST /api/v1/users/me/presence", a.presence)
	route("GET /api/v1/users", a.listMembers)
	route("GET /api/v1/users/me", a.getOwnUser)
	route("GET /api/v1/streams", a.listStreams)
	route("GET /api/v1/users/me/subscriptions", a.listSubscriptions)

	// Same paths, other methods: Zulip's JSON 405, not net/http's text.
	for path, allowed := range map[string][]string{
		"/api/v1/server_settings":        {"GET", "POST"},
		"/api/v1/fetch_api_key":          {"POST"},
		"/api/v1/register":               {"POST"},
		"/api/v1/events":                 {"GET", "DELETE"},
		"/api/v1/messages":               {"POST"},
		"/api/v1/typing":                 {"POST"},
		"/api/v1/users/me/presence":      {"POST"},
		"/api/v1/users":                  {"GET"},
		"/api/v1/users/me":               {"GET"},
		"/api/v1/streams":                {"GET"},
		"/api/v1/users/me/subscriptions": {"GET"},
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusMethodNotAllowed, map[string]any{
				"result": "error", "msg": "Method Not Allowed", "allowed_methods": allowed,
			})
		})
	}

	adminGuard := a.core.AdminGuard(MaxBody)
	admin := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, adminGuard.Handle(func(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error { return h(w, r) }))
	}
	admin("POST /v1/zulip/users", a.adminAddUser)
	admin("GET /v1/zulip/users", a.adminListUsers)
	admin("DELETE /v1/zulip/users/{email}", a.adminRemoveUser)
	admin("POST /v1/zulip/streams", a.adminAddStream)
	admin("GET /v1/zulip/streams", a.adminListStreams)
	admin("GET /v1/zulip/queues", a.adminListQueues)
}
