// Package server wires herald together: configuration, the event log and
// the core built on it, every dialect's routes, health and metrics, the HTTP
// and HTTPS listeners, the start-up banner and graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/auth/apptoken"
	"github.com/herald-io/herald/internal/buildinfo"
	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/console"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/native"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/faults/faultapi"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/metrics"
	"github.com/herald-io/herald/internal/webhook"
	"github.com/herald-io/herald/internal/webhook/webhookapi"
)

// Config is herald's configuration; cmd/herald fills it from flags and
// HERALD_* environment variables.
type Config struct {
	DataDir        string        // embedded engine files, admin key, TLS certificate
	HTTPAddr       string        // plain HTTP listener; "" for none
	HTTPSAddr      string        // TLS listener that also answers plain HTTP; "" for none
	NATS           []string      // external NATS URLs; empty embeds the engine
	NATSListen     string        // client port for the embedded engine; "" for none
	Replicas       int           // stream and KV replicas (external clusters)
	RetentionAge   time.Duration // drop events older than this; 0 keeps them
	RetentionBytes int64         // keep at most this many bytes of events; 0 unlimited
	Fsync          eventlog.Fsync
	WriteTimeout   time.Duration // cut streaming clients that accept nothing this long
	FanoutWorkers  int           // goroutines writing to caught-up streams (0: cores − 1, at least 1)
	IOUring        bool          // the fan-out workers write in batches through io_uring (deliver.Config.IOUring)
	StreamsPerKey  int           // open SSE and WebSocket streams one key may have on this node (0: 1,000; < 0: no cap)
	TLSHosts       []string      // extra names for the self-signed certificate
	// TLSCertFile and TLSKeyFile are a PEM certificate (leaf first, then
	// its chain) and key served instead of the self-signed pair. They are
	// read again when they change (checked every TLSReloadEvery; 0:
	// DefaultTLSReloadEvery; < 0: never) and on ReloadCert; a pair that
	// does not load is logged and the previous one kept.
	TLSCertFile, TLSKeyFile string
	TLSReloadEvery          time.Duration
	Build                   buildinfo.Info // this build, in GET /v1/cluster and /metrics; default buildinfo.Read()
	Logger                  *slog.Logger
	// BodyTimeout bounds the time from a request's headers to the end of
	// its body (0: DefaultBodyTimeout); requests without a body, such as
	// streams and long-polls, are not bounded by it.
	BodyTimeout time.Duration
	// MaxConns and MaxConnsPerAddr cap the connections open at once over
	// all listeners, and from one client address (IPv6: one /64); more are
	// answered 503 and 429 and closed. 0 picks DefaultConnLimits (per
	// address: a quarter of MaxConns); a negative value means no limit.
	MaxConns, MaxConnsPerAddr int
	// StatsEvery is the interval between the samples of GET
	// /v1/stats/history, which keeps the last 15 minutes (0: 2 s).
	StatsEvery time.Duration
	// Webhooks configures outbound and inbound webhooks: above all which
	// addresses endpoints may have (Webhooks.Policy).
	Webhooks webhook.Config
	// ConnectorPoll is how often a polling connector (jetstream) asks an
	// idle upstream for events (0: its default, a second).
	ConnectorPoll time.Duration
	// Banner receives the start-up banner (URLs and, on first start, the
	// admin key); nil for none.
	Banner io.Writer
	// RateLimit and RateBurst are the default per-key request rate (per
	// second) and burst, for keys without a rate of their own (0: 1,000/s
	// and 2,000; +Inf: no limit); SetRate changes them while serving.
	RateLimit float64
	RateBurst int
	// AccessLog writes one line per request (see accesslog.go);
	// SetAccessLog changes it while serving.
	AccessLog bool
	// AccessLogger receives the access log's lines (nil: Logger).
	// cmd/herald gives it Logger's format over the batched side of the
	// log's reqlog.Writer, so that lines are written a buffer at a time.
	AccessLogger *slog.Logger
	// AppTokens are the app-signed tokens (JWTs) the native API accepts
	// besides keys; none unless configured.
	AppTokens apptoken.Config
	// CORSOrigins may call the native and admin API from a browser (see
	// cors.go); none by default.
	CORSOrigins []string
	// ACME gets the HTTPS listener's certificates from an ACME CA for its
	// domains (see acme.go); not with TLSCertFile.
	ACME ACMEConfig
}

// Server is a running herald.
type Server struct {
	cfg       Config
	log       *slog.Logger
	eventLog  *eventlog.Log
	hub       *hub.Hub
	auth      *auth.Service
	metrics   *metrics.Metrics
	history   *metrics.History // GET /v1/stats/history
	core      *dialect.Core
	webhooks  *webhook.Service
	conns     *connector.Service // nil until started
	nodes     *nodeRegistry      // this node's entry in the engine's node registry
	nodeID    string
	http      *http.Server
	lns       []net.Listener
	wg        sync.WaitGroup
	admin     string
	certs     *certStore         // nil without an HTTPS listener
	acme      *acmeCerts         // nil without ACME domains
	stopWatch context.CancelFunc // ends the certificate files' poller
	closed    sync.Once
	accessOn  atomic.Bool // Config.AccessLog, or SetAccessLog's
	// accessLogger is Config.AccessLogger, or Logger.
	accessLogger *slog.Logger

	// URL and TLSURL are the base URLs clients use ("" when not listening).
	URL, TLSURL string
}

// Start opens the log, builds the core and the dialects, and starts
// listening. It returns once the server accepts requests.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.DataDir == "" {
		cfg.DataDir = "herald-data"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AccessLogger == nil {
		cfg.AccessLogger = cfg.Logger
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns, _ = DefaultConnLimits()
	}
	if cfg.MaxConnsPerAddr == 0 {
		_, cfg.MaxConnsPerAddr = DefaultConnLimits()
		if cfg.MaxConns > 0 {
			cfg.MaxConnsPerAddr = max(cfg.MaxConns/4, 1)
		}
	}
	if cfg.Build == (buildinfo.Info{}) {
		cfg.Build = buildinfo.Read()
	}
	if err := checkACME(&cfg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, accessLogger: cfg.AccessLogger, metrics: metrics.New()}
	s.accessOn.Store(cfg.AccessLog)
	s.metrics.BuildInfo.WithLabelValues(cfg.Build.Version, cfg.Build.Rev(), cfg.Build.Go).Set(1)
	defer func() {
		if err != nil {
			s.close()
		}
	}()

	s.eventLog, err = eventlog.Open(ctx, eventlog.Config{
		Dir:      EngineDir(cfg.DataDir),
		URLs:     cfg.NATS,
		Listen:   cfg.NATSListen,
		MaxAge:   cfg.RetentionAge,
		MaxBytes: cfg.RetentionBytes,
		Fsync:    cfg.Fsync,
		Replicas: cfg.Replicas,
		Logger:   cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	if s.nodeID, err = newNodeID(); err != nil {
		return nil, err
	}
	core, err := dialect.Open(ctx, s.eventLog, dialect.Config{
		Logger: cfg.Logger, Metrics: s.metrics, Node: s.nodeID,
		Auth: auth.Config{Rate: cfg.RateLimit, Burst: cfg.RateBurst},
		Deliver: deliver.Config{
			WriteTimeout: cfg.WriteTimeout, Workers: cfg.FanoutWorkers, IOUring: cfg.IOUring, StreamsPerKey: cfg.StreamsPerKey,
		},
		AppTokens: cfg.AppTokens,
	})
	if err != nil {
		return nil, err
	}
	s.core, s.hub, s.auth = core, core.Hub, core.Auth
	s.history = metrics.NewHistory(s.metrics, metrics.HistoryConfig{Every: cfg.StatsEvery})
	core.Deliver.Go(func() { s.history.Run(core.Shutdown) })
	adminKeyPath := filepath.Join(cfg.DataDir, "admin.key")
	token, created, err := s.auth.EnsureAdmin(ctx, adminKeyPath)
	if err != nil {
		return nil, err
	}
	if created {
		s.admin = token
	}

	mux := http.NewServeMux()
	s.mountOps(mux)
	native.New(core).Mount(mux)
	faultapi.Mount(mux, core) // /v1/faults: fault injection for client developers, off until a rule is made
	if s.webhooks, err = webhook.Open(ctx, core, cfg.Webhooks); err != nil {
		return nil, err
	}
	webhookapi.Mount(mux, core, s.webhooks) // /v1/webhooks, /v1/hooks
	// Static files only: every call it makes goes to the API above.
	console.Mount(mux, console.Config{AdminKeyPath: absPath(adminKeyPath)})
	ds, err := mountDialects(mux, core)
	if err != nil {
		return nil, err
	}
	conns, err := connector.New(ctx, core, connector.Config{Kinds: connectorKinds(cfg, ds)})
	if err != nil {
		return nil, err
	}
	ds.conns = conns
	conns.Mount(mux)
	if err := mountRoutes(ctx, mux, core); err != nil {
		return nil, err
	}

	// A mirrored Zulip identity's and a mirrored Plex server's requests that
	// herald does not serve go to their upstreams.
	api, err := withCORS(cfg.CORSOrigins, ds.zulip.Unmatched(mux, ds.plex.Unmatched(mux)))
	if err != nil {
		return nil, err
	}
	handler := s.middleware(api)
	s.http = &http.Server{
		Handler:           core.Deliver.Adopting(handler),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	// A plain HTTP/1.1 connection is the delivery engine's from its first
	// request without a body on (or from a long-poll that parks): it serves
	// the requests with the same handler and limits.
	core.Deliver.SetHandler(handler, deliver.ConnLimits{
		HeaderTimeout:  s.http.ReadHeaderTimeout,
		IdleTimeout:    s.http.IdleTimeout,
		MaxHeaderBytes: s.http.MaxHeaderBytes,
	})
	if err := s.listen(); err != nil {
		return nil, err
	}
	if err := s.register(ctx); err != nil {
		return nil, err
	}
	s.conns = conns
	conns.Start()
	for _, ln := range s.lns {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("serve", "addr", ln.Addr(), "err", err)
			}
		}()
	}
	if s.acme != nil {
		s.acme.start() // the listeners answer its challenges
	}
	return s, nil
}

// absPath returns p made absolute, or p if that fails: the sign-in hint
// should name the file wherever the operator's shell is.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

func (s *Server) listen() error {
	// One limiter under both listeners: the caps count every connection.
	limit := newConnLimiter(s.cfg.MaxConns, s.cfg.MaxConnsPerAddr, s.log)
	if s.cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("http listener: %w", err)
		}
		s.lns = append(s.lns, limit.listener(ln))
		s.URL = "http://" + hostPort(ln.Addr())
	}
	if s.cfg.HTTPSAddr != "" {
		if err := s.loadCert(); err != nil {
			return err
		}
		ln, err := net.Listen("tcp", s.cfg.HTTPSAddr)
		if err != nil {
			return fmt.Errorf("https listener: %w", err)
		}
		tc := tlsConfig(s.certs)
		if s.acme != nil {
			s.acme.configure(tc)
			s.http.Handler = s.acme.httpHandler(s.http.Handler) // on the HTTP listener too
		}
		s.lns = append(s.lns, NewDualListener(limit.listener(ln), tc, DefaultPeekTimeout, WithDualListenerLogger(s.log)))
		s.TLSURL = "https://" + hostPort(ln.Addr())
	}
	if len(s.lns) == 0 {
		return errors.New("no listener: set an HTTP or HTTPS address")
	}
	return nil
}

// loadCert reads the certificate files, or makes or loads the self-signed
// pair without them, and starts watching the files.
func (s *Server) loadCert() error {
	if s.cfg.TLSCertFile == "" && s.cfg.TLSKeyFile == "" {
		cert, err := LoadOrCreateCert(s.cfg.DataDir, s.cfg.TLSHosts)
		if err != nil {
			return err
		}
		s.certs = newCertStore(cert, "", "", s.log)
		if len(s.cfg.ACME.Domains) > 0 {
			s.acme, err = newACMECerts(s.cfg.ACME, s.cfg.DataDir, s.certs, s.log)
		}
		return err
	}
	cert, err := loadCertFiles(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	if err != nil {
		return err
	}
	s.certs = newCertStore(cert, s.cfg.TLSCertFile, s.cfg.TLSKeyFile, s.log)
	every := s.cfg.TLSReloadEvery
	switch {
	case every < 0:
		return nil
	case every == 0:
		every = DefaultTLSReloadEvery
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWatch = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.certs.watch(ctx, every)
	}()
	return nil
}

// CertFingerprint returns the SHA-256 fingerprint of the certificate the
// HTTPS listener serves now ("" without one).
func (s *Server) CertFingerprint() string {
	if s.certs == nil {
		return ""
	}
	return s.certs.fingerprint()
}

// ACMEDomains returns the names whose certificates come from ACME (none
// without Config.ACME); other names get the self-signed certificate.
func (s *Server) ACMEDomains() []string {
	if s.acme == nil {
		return nil
	}
	return slices.Clone(s.acme.list)
}

// CertFromFiles reports whether the HTTPS listener serves certificate
// files (Config.TLSCertFile) rather than the self-signed pair.
func (s *Server) CertFromFiles() bool { return s.certs != nil && s.certs.certPath != "" }

// ReloadCert reads the certificate files again, changed or not, and serves
// them from the next handshake on; if they do not load it returns the
// error and the previous certificate stays. It returns the fingerprint
// served afterwards. Without files (the self-signed pair) it does nothing.
func (s *Server) ReloadCert() (string, error) {
	if s.certs == nil {
		return "", nil
	}
	_, err := s.certs.reload(true)
	return s.certs.fingerprint(), err
}

// hostPort renders a listen address as a URL host, "localhost" for the
// unspecified address.
func hostPort(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// AdminKey returns the admin key if this start created it ("" otherwise:
// it is in <data>/admin.key).
func (s *Server) AdminKey() string { return s.admin }

// Shutdown stops accepting, ends streams after their last complete event so
// that clients resume exactly, waits for requests in flight (until ctx
// ends), then closes the log cleanly.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.conns != nil {
		s.conns.Close() // gives their leases back: another node takes over at once
	}
	if s.core != nil {
		s.core.Stop() // streams see this and end
	}
	if s.nodes != nil {
		s.nodes.close(ctx) // the other nodes stop listing this one at once
	}
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	if s.core != nil {
		s.core.Deliver.Wait() // detached streams end with the shutdown context
	}
	s.close()
	return err
}

func (s *Server) close() {
	s.closed.Do(s.closeOnce)
}

func (s *Server) closeOnce() {
	if s.core != nil {
		s.core.Stop()
	}
	if s.stopWatch != nil {
		s.stopWatch()
	}
	if s.acme != nil {
		s.acme.close()
	}
	for _, ln := range s.lns {
		ln.Close()
	}
	if s.conns != nil {
		s.conns.Close() // before the core: connectors append to the log
	}
	s.wg.Wait()
	if s.webhooks != nil {
		s.webhooks.Close() // its jobs store their positions while the engine is there
	}
	if s.nodes != nil {
		s.nodes.close(context.Background())
	}
	if s.core != nil {
		s.core.Close()
	}
	if s.eventLog != nil {
		s.eventLog.Close()
	}
}
