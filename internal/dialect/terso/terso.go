// Package terso serves the Jetstream RFID events API (Terso Solutions,
// version 3) over herald's core: GET /3/events[/{limit}] returns the oldest
// pending events of the user whose AccessKey header is sent, DELETE (or
// PATCH) /3/events removes them by batch or by event id. A user's
// subscription is a cursor over the log, so it survives restarts and is
// served by any node; events are stored once, on topics
// "jetstream.<device>.<eventtype>", already in the Jetstream wire shape.
//
// Admin endpoints under /v1/jetstream/ (a native admin key) manage users
// and run a device simulator.
package terso

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// Dialect names the dialect: keys, cursor ids, topics and metrics use it.
const Dialect = "jetstream"

// DefaultIdleTTL is how long a subscription lives without a Get Events
// request, as Jetstream documents.
const DefaultIdleTTL = 30 * 24 * time.Hour

// Config tunes the dialect.
type Config struct {
	// IdleTTL removes a subscription not read for this long (default 30 days).
	IdleTTL time.Duration
	// Now is the clock the subscriptions' idle time is measured with; it
	// must be the cursor store's (default time.Now).
	Now func() time.Time
}

// API serves the Jetstream endpoints.
type API struct {
	core   *dialect.Core
	cfg    Config
	legacy eventlog.KV // released versions' user records (see users.go)
	wire   *hub.Format // an event's Jetstream JSON, cached in the hub's window
}

// New builds the dialect over the core and imports the users that
// released versions stored. The core's Auth must be started.
func New(core *dialect.Core, cfg Config) (*API, error) {
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = DefaultIdleTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx := core.Shutdown
	if ctx == nil {
		ctx = context.Background()
	}
	kv, err := core.Log.KV(ctx, "herald-jetstream")
	if err != nil {
		return nil, fmt.Errorf("jetstream: open users bucket: %w", err)
	}
	a := &API{core: core, cfg: cfg, legacy: kv,
		wire: core.Hub.RegisterFormat("jetstream.json", func(e *eventlog.Event) []byte { return toWire(e).Data })}
	if err := a.importLegacyUsers(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// Mount registers the routes on mux: /3/… for Jetstream clients and exact
// /v1/jetstream/… paths for admins.
func (a *API) Mount(mux *http.ServeMux) {
	g := a.core.Guard(dialect.GuardSpec{
		Dialect:      Dialect,
		Credential:   func(r *http.Request) (string, error) { return r.Header.Get("AccessKey"), nil },
		Authenticate: a.authenticate,
		Render:       render,
		MaxBody:      MaxBody,
	})
	mux.Handle("GET /3/events", g.Handle(a.getEvents))
	mux.Handle("GET /3/events/{limit}", g.Handle(a.getEvents))
	mux.Handle("DELETE /3/events", g.Handle(a.deleteEvents3))
	mux.Handle("PATCH /3/events", g.Handle(a.deleteEvents3)) // for clients that cannot send a DELETE body
	g.MethodNotAllowed(mux, map[string]string{
		"/3/events":         "GET, DELETE, PATCH",
		"/3/events/{limit}": "GET",
	})
	mux.HandleFunc("/3/", func(w http.ResponseWriter, r *http.Request) {
		render(w, r, &dialect.Problem{Kind: dialect.NotFound,
			Message: "No HTTP resource was found that matches the request URI '" + clip(r.URL.Path) + "'."})
	})

	admin := a.core.AdminGuard(adminMaxBody) // a native admin key (Authorization: Bearer)
	mux.Handle("POST /v1/jetstream/users", admin.Handle(a.postUser))
	mux.Handle("GET /v1/jetstream/users", admin.Handle(a.getUsers))
	mux.Handle("DELETE /v1/jetstream/users/{id}", admin.Handle(a.deleteUser))
	mux.Handle("POST /v1/jetstream/simulate", admin.Handle(a.simulate))
}

// getEvents handles GET /3/events and /3/events/{limit}.
func (a *API) getEvents(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	p, err := parseGetParams(r.PathValue("limit"), r.URL.Query())
	if err != nil {
		return err
	}
	b, err := a.get(r.Context(), req.Key, p)
	if err != nil {
		return err
	}
	body := appendEvents(make([]byte, 0, 64+len(b.Events)*320), b.ID, b.Events)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(body)
	a.core.Metrics.EventsDelivered.WithLabelValues(Dialect).Add(float64(len(b.Events)))
	return nil
}

// deleteEvents3 handles DELETE and PATCH /3/events: 204 once the events are
// removed (or were not pending).
func (a *API) deleteEvents3(w http.ResponseWriter, r *http.Request, rq *dialect.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			err = invalid("request", "The body could not be read.")
		}
		return err
	}
	req, err := parseDelete(body)
	if err != nil {
		return err
	}
	if req.BatchID != "" {
		err = a.deleteBatch(r.Context(), rq.Key.ID, req.BatchID)
	} else {
		err = a.deleteEvents(r.Context(), rq.Key.ID, req.EventIDs)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
