// Package connector puts herald in front of a real system: a connector
// follows one upstream (a Hue bridge, a Plex server, a Zulip realm, a
// Jetstream account), stores each upstream event once in the log, and the
// dialect of that kind serves it with exact resume, history and durable
// queues. Connectors are configured at run time, kept in the engine, and
// each runs on exactly one node at a time (internal/lease).
package connector

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/herald-io/herald/internal/dialect"
)

// Spec is a connector as the operator configured it.
type Spec struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"` // hue | plex | zulip | jetstream
	URL         string `json:"url"`  // the upstream's base URL
	Key         string `json:"key,omitempty"`
	Email       string `json:"email,omitempty"` // zulip: the identity's email
	InsecureTLS bool   `json:"insecure_tls,omitempty"`
}

// Reporter is what a running connector says about itself; the framework
// keeps it as the connector's state (API, metrics).
type Reporter interface {
	Connected(up bool)
	Ingested(n int, last time.Time) // n events appended; last: the newest one's upstream time
	Failed(err error)               // the last error (shown to the operator, never to clients)
	Reconnecting()                  // counts reconnects
}

// Positions keep a connector's upstream position durably, so that a
// restarted node, or the next node to hold the connector, resumes there.
type Positions interface {
	Load(ctx context.Context) (string, error) // "" before the first Store
	Store(ctx context.Context, pos string) error
}

// Env is what a connector runs with.
type Env struct {
	Core      *dialect.Core
	Spec      Spec
	Report    Reporter
	Positions Positions
	HTTP      *http.Client // for the upstream: the spec's TLS settings, timeouts
	Logger    *slog.Logger
}

// ErrStopped, wrapped in the error Run returns, means the upstream refused
// the connector for good (a wrong key: 401, 403): it is not restarted until
// its spec changes.
var ErrStopped = errors.New("connector stopped")

// A Kind follows one kind of upstream.
type Kind interface {
	// Check says whether a spec of this kind can run (fields it needs,
	// URL scheme), before it is stored.
	Check(spec Spec) error
	// Run follows the upstream until ctx ends, surviving its faults with
	// backoff. It returns ctx's error, or an error wrapping ErrStopped.
	Run(ctx context.Context, env Env) error
}
