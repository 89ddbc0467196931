package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/connector/hueconn"
	"github.com/herald-io/herald/internal/connector/jetstream"
	plexconn "github.com/herald-io/herald/internal/connector/plex"
	"github.com/herald-io/herald/internal/connector/zulipconn"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/hue"
	"github.com/herald-io/herald/internal/dialect/plex"
	"github.com/herald-io/herald/internal/dialect/terso"
	"github.com/herald-io/herald/internal/dialect/zulip"
	"github.com/herald-io/herald/internal/route"
	"github.com/herald-io/herald/internal/route/routeapi"
)

// mountDialects builds each vendor dialect over the core and mounts its
// routes beside the native API's. A mirrored Hue bridge's writes go to the
// bridge through the hue connector's definition, which the connectors'
// service (made after the dialects) gives: ds.conns is set then.
func mountDialects(mux *http.ServeMux, core *dialect.Core) (*dialects, error) {
	ds := &dialects{}
	forward := &hueconn.Forwarders{
		Lookup: func(ctx context.Context, name string) (connector.Spec, error) {
			if ds.conns == nil {
				return connector.Spec{}, connector.ErrNotFound
			}
			return ds.conns.Spec(ctx, name)
		},
		HTTP: connector.HTTPClient,
	}
	js, err := terso.New(core, terso.Config{})
	if err != nil {
		return nil, fmt.Errorf("jetstream dialect: %w", err)
	}
	js.Mount(mux)
	h, err := hue.New(core, hue.Config{Upstream: forward.Upstream})
	if err != nil {
		return nil, fmt.Errorf("hue dialect: %w", err)
	}
	h.Mount(mux)
	z, err := zulip.New(core, zulip.Config{})
	if err != nil {
		return nil, fmt.Errorf("zulip dialect: %w", err)
	}
	z.Mount(mux)
	p, err := plex.New(core, plex.Config{})
	if err != nil {
		return nil, fmt.Errorf("plex dialect: %w", err)
	}
	p.Mount(mux)
	ds.hue, ds.plex, ds.zulip = h, p, z
	return ds, nil
}

// dialects are the built dialects the connectors need, and the connectors'
// service once it is made.
type dialects struct {
	hue   *hue.API
	plex  *plex.API
	zulip *zulip.API
	conns *connector.Service
}

// connectorKinds are the kinds of connector this server runs.
func connectorKinds(cfg Config, ds *dialects) map[string]connector.Kind {
	return map[string]connector.Kind{
		"jetstream": &jetstream.Kind{Poll: cfg.ConnectorPoll},
		"plex":      plexconn.New(ds.plex),
		"hue":       hueconn.New(ds.hue),
		"zulip":     zulipconn.New(ds.zulip),
	}
}

// mountRoutes mounts /v1/routes and runs the routes this node holds the
// leases of. A route's action calls the dialects through mux, in process.
func mountRoutes(ctx context.Context, mux *http.ServeMux, core *dialect.Core) error {
	kv, err := core.Log.KV(ctx, route.Bucket)
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	routes, err := route.New(core, kv, mux, route.Config{})
	if err != nil {
		return fmt.Errorf("routes: %w", err)
	}
	routeapi.Mount(mux, core, routes)
	core.Go(func(ctx context.Context) { _ = routes.Run(ctx) })
	return nil
}
