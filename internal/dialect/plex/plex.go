// Package plex speaks Plex Media Server's notification API: the
// EventSource stream at /:/eventsource/notifications, the WebSocket at
// /:/websocket/notifications (and the /:/websockets/ spelling python-plexapi
// uses), the server identity that clients read before they listen, and
// admin endpoints that create Plex tokens and simulate a media server
// (library scans, playback, preference changes).
//
// A Plex notification is an event on topic "plex.<type>" ("plex.playing",
// "plex.transcodeSession.update"); the type is the topic without its
// "plex." prefix, so Plex's filters map onto topic filters. The event's data
// is the inner notification object as Plex's EventSource sends it,
// {"PlaySessionStateNotification":{…}}; a bare element object ({"sessionKey":…})
// is accepted too and wrapped in the element the type implies. Each event is
// encoded once per transport through the hub's formats.
//
// Beyond Plex: EventSource messages carry "id:" (the log position) so
// Last-Event-ID resumes exactly, and both transports take ?after=. A
// position older than retention gets an "event: reset" message
// ({"after":…,"earliest":…}, id = earliest-1) and the stream goes on after
// the gap; a WebSocket is closed with code 4410 instead. A filters= value
// that can never name a type is answered 400 (see ParseFilter).
//
// Simulations run inside the admin request, publishing through the log
// like any producer: at once in batches, or paced by an interval between
// steps, until done, the client leaves or the server shuts down. The
// answer says which sequences were published. No goroutine outlives a
// request, so there is nothing to stop on shutdown.
package plex

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
)

// Dialect is the name Plex tokens carry (auth.Key.Dialect) and the label
// under which appended events are counted.
const Dialect = "plex"

// TopicPrefix starts the topic of every Plex notification.
const TopicPrefix = "plex."

// Defaults and limits.
const (
	// DefaultPing is how often an idle stream gets Plex's heartbeat
	// (SSE "event: ping", a WebSocket ping), as Plex Media Server does.
	DefaultPing     = 10 * time.Second
	DefaultName     = "herald"
	DefaultVersion  = "1.41.0.0-herald"
	maxAdminBody    = 64 << 10
	identityBucket  = "herald-plex"
	identityKey     = "machine-identifier"
	identityTimeout = 10 * time.Second
)

// Config adjusts the Plex dialect. Every field has a default.
type Config struct {
	// MachineIdentifier is the server's identity in GET / and /identity.
	// Empty: one is made on first start and kept in the engine's KV, so
	// every herald node on the same log answers with the same identity.
	MachineIdentifier string
	// FriendlyName is the server name clients show (default "herald").
	FriendlyName string
	// Version is the Plex Media Server version reported (default DefaultVersion).
	Version string
	// Ping is the heartbeat interval of idle streams (default DefaultPing).
	Ping time.Duration
}

// API serves the Plex endpoints.
type API struct {
	core    *dialect.Core
	cfg     Config
	sse     *hub.Format // one complete EventSource message (or several, see encodeSSE)
	wsFrame *hub.Format // one NotificationContainer as a WebSocket text frame
	clock   func() time.Time
	// fallback serves what the log does not (SetFallback): nil, or a
	// reverse proxy to the real server.
	fallback atomic.Pointer[fallback]
}

// New builds the Plex dialect over the core. It reads (or creates) the
// machine identifier, so it needs the engine to answer.
func New(core *dialect.Core, cfg Config) (*API, error) {
	if cfg.FriendlyName == "" {
		cfg.FriendlyName = DefaultName
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.Ping <= 0 {
		cfg.Ping = DefaultPing
	}
	if cfg.MachineIdentifier == "" {
		id, err := machineIdentifier(core.Log)
		if err != nil {
			return nil, fmt.Errorf("plex: machine identifier: %w", err)
		}
		cfg.MachineIdentifier = id
	}
	a := &API{core: core, cfg: cfg, clock: time.Now}
	a.sse = core.Hub.RegisterFormat("plex.sse", encodeSSE)
	a.wsFrame = core.Hub.RegisterFormat("plex.ws", func(e *eventlog.Event) []byte {
		return framing.AppendWSText(nil, encodeWS(e))
	})
	return a, nil
}

// machineIdentifier returns the identity stored in the log's KV, creating it
// on first use; a node that loses the creation race adopts the winner's.
func machineIdentifier(l *eventlog.Log) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), identityTimeout)
	defer cancel()
	kv, err := l.KV(ctx, identityBucket)
	if err != nil {
		return "", err
	}
	for range 3 {
		e, err := kv.Get(ctx, identityKey)
		if err == nil {
			return string(e.Value), nil
		}
		if !errors.Is(err, eventlog.ErrKeyNotFound) {
			return "", err
		}
		b := make([]byte, 20) // Plex's identifiers are 40 hex digits
		rand.Read(b)
		id := hex.EncodeToString(b)
		_, err = kv.Create(ctx, identityKey, []byte(id))
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, eventlog.ErrConflict) {
			return "", err
		}
	}
	return "", errors.New("identity keeps changing")
}

// Mount registers the Plex routes on mux. The patterns are exact, so they
// coexist with the other dialects' routes.
func (a *API) Mount(mux *http.ServeMux) {
	g := a.guard()
	mux.Handle("GET /{$}", g.Handle(a.root))
	mux.HandleFunc("GET /identity", a.identity) // open, as on Plex Media Server
	mux.Handle("GET /:/eventsource/notifications", g.Handle(a.eventSource))
	mux.Handle("GET /:/websocket/notifications", g.Handle(a.websocket))
	mux.Handle("GET /:/websockets/notifications", g.Handle(a.websocket))

	admin := a.core.AdminGuard(maxAdminBody)
	mux.Handle("POST /v1/plex/tokens", admin.Handle(a.createToken))
	mux.Handle("GET /v1/plex/tokens", admin.Handle(a.listTokens))
	mux.Handle("DELETE /v1/plex/tokens/{id}", admin.Handle(a.revokeToken))
	mux.Handle("POST /v1/plex/simulate/scan", admin.Handle(a.simulateScan))
	mux.Handle("POST /v1/plex/simulate/play", admin.Handle(a.simulatePlay))
	mux.Handle("POST /v1/plex/simulate/preference", admin.Handle(a.simulatePreference))
}
