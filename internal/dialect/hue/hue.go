// Package hue is the Philips Hue CLIP v2 dialect: a herald server answers
// as a Hue bridge. Every change is an event appended to the log on a topic
// "hue.<rtype>.<rid>" with the Hue event's data element as its Data; the
// resources (bridge, devices, lights, buttons, …) are the fold of those
// events, kept in the engine's KV bucket "herald-hue" so every herald node
// serves the same bridge (tx.go and project.go: the log first, then the
// state). The event stream is a view of the hub like every other dialect's.
//
// Unlike a real bridge, the event stream's buffer is the log: the id of an
// SSE message is "<unix seconds>:<log sequence>", so a client that resumes
// with Last-Event-ID or If-None-Match misses nothing within retention.
package hue

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// Limits and defaults of the Hue dialect.
const (
	MaxBody            = 64 << 10 // bytes of a request body
	DefaultKeepAlive   = 15 * time.Second
	DefaultPollTimeout = 30 * time.Second
	DefaultBatchWindow = 50 * time.Millisecond
	DefaultLinkWindow  = 30 * time.Second
	DefaultEchoWait    = 2 * time.Second
	// DefaultPairingsPerPress bounds the application keys one press of
	// the link button lets clients create.
	DefaultPairingsPerPress = 5
	maxMessageEvents        = 256 // Hue events in one SSE message or long-poll answer
	bucket                  = "herald-hue"
	dialectName             = "hue"
)

// Config adjusts the dialect; zero values take the defaults.
type Config struct {
	// Name is the bridge's name in the public config (default "herald").
	Name string
	// TimeZone is the bridge's IANA time zone (default "Etc/UTC").
	TimeZone string
	// KeepAlive is the SSE comment interval; clients drop a stream idle for 90 s.
	KeepAlive time.Duration
	// PollTimeout bounds a long-poll that finds no event.
	PollTimeout time.Duration
	// BatchWindow is how long the stream gathers events into one message
	// after the first is ready, as a bridge batches changes.
	BatchWindow time.Duration
	// LinkWindow is how long pairing stays open after the link button.
	LinkWindow time.Duration
	// PairingsPerPress is how many applications may pair after one press
	// of the link button; later attempts get "link button not pressed".
	PairingsPerPress int
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Upstream finds the upstream a mirrored bridge forwards its clients'
	// writes to, by connector name (mirrorwrite.go); nil: this node has
	// none, and writes to a mirrored bridge answer 503.
	Upstream func(ctx context.Context, connector string) (Upstream, error)
	// EchoWait bounds how long a forwarded write waits for the upstream's
	// stream to bring its change back before answering (default 2 s).
	EchoWait time.Duration

	// afterAppend, if set, runs between a write's append and its
	// projection; an error ends the write there (tests: a crash).
	afterAppend func() error
	// noProjector leaves out the projector that follows the log (tests:
	// a node whose repairs come only from the catch-up at start).
	noProjector bool
	// wrapKV, if set, wraps the state bucket (tests: count engine calls).
	wrapKV func(eventlog.KV) eventlog.KV
}

func (c *Config) defaults() {
	if c.Name == "" {
		c.Name = "herald"
	}
	if c.TimeZone == "" {
		c.TimeZone = "Etc/UTC"
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = DefaultKeepAlive
	}
	if c.PollTimeout <= 0 {
		c.PollTimeout = DefaultPollTimeout
	}
	if c.BatchWindow < 0 {
		c.BatchWindow = 0
	} else if c.BatchWindow == 0 {
		c.BatchWindow = DefaultBatchWindow
	}
	if c.LinkWindow <= 0 {
		c.LinkWindow = DefaultLinkWindow
	}
	if c.PairingsPerPress <= 0 {
		c.PairingsPerPress = DefaultPairingsPerPress
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.EchoWait <= 0 {
		c.EchoWait = DefaultEchoWait
	}
}

// API serves the Hue endpoints.
type API struct {
	core   *dialect.Core
	cfg    Config
	store  *store
	proj   *projector
	bridge bridgeRecord
	button *linkButton // the link button, for pairing
	evFmt  *hub.Format // one Hue Event object per log event
	msgs   msgCache    // SSE messages shared by the streams that get the same batch
	locks  [lockStripes]sync.Mutex
	guard  *dialect.Guard
	mirror atomic.Pointer[mirrorRecord] // nil: not a mirror (mirror.go)
	endMu  sync.Mutex                   // one EndMirror at a time on this node
}

// startTimeout bounds New; catchUpTimeout the part of it spent repairing
// the state from the log (the projector finishes what is left).
const (
	startTimeout   = 30 * time.Second
	catchUpTimeout = 20 * time.Second
)

// New builds the dialect: it makes sure the bridge's own resources exist
// (created on the first start, shared by every node afterwards), folds
// into the state any event a crashed node appended without projecting,
// and starts the projector that keeps following the log.
func New(core *dialect.Core, cfg Config) (*API, error) {
	cfg.defaults()
	ctx, cancel := context.WithTimeout(core.Shutdown, startTimeout)
	defer cancel()
	kv, err := core.Log.KV(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("hue: open state: %w", err)
	}
	if cfg.wrapKV != nil {
		kv = cfg.wrapKV(kv)
	}
	a := &API{core: core, cfg: cfg, store: &store{kv: kv}}
	a.guard = core.Guard(a.guardSpec())
	a.proj = &projector{core: core, store: a.store, logger: core.Logger}
	if a.bridge, err = a.bootstrap(ctx); err != nil {
		return nil, fmt.Errorf("hue: bridge resources: %w", err)
	}
	from, err := a.proj.position(ctx)
	if err != nil {
		return nil, err
	}
	cctx, ccancel := context.WithTimeout(ctx, catchUpTimeout)
	pos, err := a.proj.catchUp(cctx, from)
	timedOut := errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	ccancel()
	switch {
	case err == nil:
		if err := a.proj.advance(ctx, pos); err != nil {
			return nil, err
		}
	case timedOut:
		core.Logger.Warn("hue: state catch-up continues in the background", "at", pos)
	default:
		return nil, err
	}
	if err := a.loadMirror(ctx); err != nil {
		return nil, err
	}
	if a.mirroring() == nil {
		// A mirror's resources are the upstream's, as it has them.
		if err := a.upgrade(ctx); err != nil {
			return nil, fmt.Errorf("hue: bridge resources: %w", err)
		}
	}
	a.button = newLinkButton(kv, cfg.LinkWindow, cfg.PairingsPerPress, core.Logger)
	if err := a.button.load(ctx); err != nil {
		return nil, err
	}
	core.Deliver.Go(func() { a.button.follow(core.Shutdown) })
	core.Deliver.Go(func() { a.followMirror(core.Shutdown) })
	if !cfg.noProjector {
		core.Deliver.Go(func() { a.proj.run(core.Shutdown, core.Hub, pos) })
	}
	a.evFmt = core.Hub.RegisterFormat("hue.event", encodeEvent)
	return a, nil
}

// BridgeID returns the bridge id (16 lower-case hex digits): the
// upstream's on a mirrored bridge.
func (a *API) BridgeID() string {
	if m := a.mirroring(); m != nil {
		return m.BridgeID
	}
	return a.bridge.BridgeID
}

// Mount registers the routes on mux.
func (a *API) Mount(mux *http.ServeMux) {
	// Pairing and discovery: v1 shapes, no key.
	mux.HandleFunc("POST /api", a.pair)
	mux.HandleFunc("/api", a.apiOther)
	mux.HandleFunc("GET /api/config", a.publicConfig)
	mux.HandleFunc("GET /api/{key}/config", a.publicConfig)

	// CLIP v2, with the application key.
	app := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, a.guard.Handle(func(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error { return h(w, r) }))
	}
	app("GET /clip/v2/resource", a.listAll)
	app("GET /clip/v2/resource/{type}", a.listType)
	app("POST /clip/v2/resource/{type}", a.forwarded(a.create))
	app("GET /clip/v2/resource/{type}/{id}", a.get)
	app("PUT /clip/v2/resource/{type}/{id}", a.forwarded(a.put))
	app("DELETE /clip/v2/resource/{type}/{id}", a.forwarded(a.remove))
	mux.Handle("GET /eventstream/clip/v2", a.appKey(a.eventStream)) // streams count against the key's cap
	for path, allow := range map[string]string{
		"/clip/v2/resource":             "GET",
		"/clip/v2/resource/{type}":      "GET, POST",
		"/clip/v2/resource/{type}/{id}": "GET, PUT, DELETE",
		"/eventstream/clip/v2":          "GET",
	} {
		app(path, func(w http.ResponseWriter, r *http.Request) error {
			return notAllowed(allow, errNotAllowed)
		})
	}
	app("/clip/v2/", func(w http.ResponseWriter, r *http.Request) error { return errNotFound })

	// Administration (simulation, catalogue, link button): a native admin key.
	adminGuard := a.core.AdminGuard(MaxBody)
	admin := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, adminGuard.Handle(func(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error { return h(w, r) }))
	}
	admin("GET /v1/hue/products", a.listProducts)
	admin("GET /v1/hue/resources", a.listAll) // the console's Hue panel: an admin key has no application key
	admin("POST /v1/hue/devices", a.simulated(a.addDevice))
	admin("POST /v1/hue/press", a.simulated(a.press))
	admin("POST /v1/hue/sensor", a.simulated(a.sensor))
	admin("POST /v1/hue/rotate", a.simulated(a.rotate))
	admin("POST /v1/hue/link", a.link)
}
