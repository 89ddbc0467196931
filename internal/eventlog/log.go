package eventlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Fsync says when appended events reach stable storage.
type Fsync string

const (
	// FsyncDefault acknowledges an append once the engine has written it to
	// the operating system: it survives a crash of herald (kill -9) but not a
	// power loss of the last seconds (JetStream syncs every 2 minutes).
	FsyncDefault Fsync = "default"
	// FsyncAlways acknowledges an append only after it is on stable storage.
	// Concurrent appends share one sync (group commit); see commit.go.
	FsyncAlways Fsync = "always"
)

// Config configures Open.
type Config struct {
	// Dir holds the embedded engine's files. Ignored when URLs is set.
	Dir string
	// URLs of an external NATS server or cluster; empty embeds one in-process.
	URLs []string
	// Listen, if set, opens the embedded engine's client port ("127.0.0.1:4222").
	Listen string
	// Stream is the JetStream stream name; default "HERALD".
	Stream string
	// MaxAge and MaxBytes bound retention; zero means unlimited.
	MaxAge   time.Duration
	MaxBytes int64
	Fsync    Fsync
	// Replicas of the stream and KV buckets (1 for embedded).
	Replicas int
	// MaxPending bounds appends in flight to the engine (the pipelining window).
	MaxPending int
	// AckTimeout bounds the wait for the engine's acknowledgement of an
	// append (default 3s): if the stream's leader dies with the message in
	// flight no ack ever comes, and the publisher must hear 503 and retry
	// (its id makes the retry safe) rather than wait forever.
	AckTimeout time.Duration
	Logger     *slog.Logger
}

// DedupeWindow is how long the engine remembers a publisher-chosen event
// id, so that a retried append is not stored twice. Retention must keep
// events at least this long.
const DedupeWindow = 2 * time.Minute

// subjectPrefix maps topics onto NATS subjects inside herald's stream.
const subjectPrefix = "herald.ev."

// Log is the event log. It is safe for concurrent use.
type Log struct {
	cfg     Config
	log     *slog.Logger
	ns      *server.Server // nil with an external engine
	nc      *nats.Conn
	js      jetstream.JetStream
	replies *replies // the answers to reads (direct and message gets)
	stream  string
	commit  *committer // group commit for FsyncAlways, nil otherwise
	// sole: the stream has no writer but this Log (an embedded engine
	// without a client port), so acked, the highest sequence the engine
	// acknowledged to its appends (and the last stored when it opened), is
	// the stream's last (Acked).
	sole  bool
	acked atomic.Uint64

	mu  sync.Mutex
	kvs map[string]KV
}

// Open starts (or connects to) the engine and creates or adopts the stream.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.Stream == "" {
		cfg.Stream = "HERALD"
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 4096
	}
	if cfg.AckTimeout <= 0 {
		cfg.AckTimeout = 3 * time.Second
	}
	if cfg.Fsync == "" {
		cfg.Fsync = FsyncDefault
	}
	if cfg.Fsync != FsyncDefault && cfg.Fsync != FsyncAlways {
		return nil, fmt.Errorf("eventlog: fsync must be %q or %q, not %q", FsyncDefault, FsyncAlways, cfg.Fsync)
	}
	// The engine refuses these too, but only once it runs, and in its terms.
	if cfg.MaxAge < 0 {
		return nil, fmt.Errorf("eventlog: retention age %s is negative", cfg.MaxAge)
	}
	if cfg.MaxAge > 0 && cfg.MaxAge < DedupeWindow {
		return nil, fmt.Errorf("eventlog: retention age %s is below the minimum of %s, the dedupe window (0 keeps events)", cfg.MaxAge, DedupeWindow)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{cfg: cfg, log: cfg.Logger, stream: cfg.Stream, kvs: map[string]KV{}}
	ns, nc, err := dial(cfg)
	if err != nil {
		return nil, err
	}
	l.ns, l.nc = ns, nc
	if l.replies, err = newReplies(nc); err != nil {
		l.Close()
		return nil, err
	}
	l.js, err = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(cfg.MaxPending),
		jetstream.WithPublishAsyncTimeout(cfg.AckTimeout))
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("eventlog: %w", err)
	}
	if err := l.ensureStream(ctx); err != nil {
		l.Close()
		return nil, err
	}
	if l.sole = len(cfg.URLs) == 0 && cfg.Listen == ""; l.sole {
		_, last, err := l.Bounds(ctx)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.acked.Store(last)
	}
	if cfg.Fsync == FsyncAlways && l.ns != nil && groupCommitSupported {
		c, err := newCommitter(filepath.Join(cfg.Dir, "jetstream"))
		if err != nil {
			l.Close()
			return nil, err
		}
		l.commit = c
	}
	return l, nil
}

// dial starts the embedded engine (unless cfg names external URLs) and
// connects to it; it creates nothing in the engine.
func dial(cfg Config) (*server.Server, *nats.Conn, error) {
	logger := cfg.Logger
	opts := []nats.Option{
		nats.Name("herald"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(-1), // never buffer writes while disconnected: callers see ErrUnavailable
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if !nc.IsClosed() && !nc.IsDraining() {
				logger.Warn("engine disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("engine reconnected", "url", nc.ConnectedUrlRedacted())
		}),
	}
	var ns *server.Server
	url := strings.Join(cfg.URLs, ",")
	if url == "" {
		var err error
		if ns, err = startEmbedded(cfg); err != nil {
			return nil, nil, err
		}
		url = ns.ClientURL()
		opts = append(opts, nats.InProcessServer(ns))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		stopEngine(ns)
		return nil, nil, fmt.Errorf("eventlog: connect %s: %w", url, errors.Join(ErrUnavailable, err))
	}
	return ns, nc, nil
}

func startEmbedded(cfg Config) (*server.Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("eventlog: Dir is required for the embedded engine")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("eventlog: %w", err)
	}
	opts := &server.Options{
		ServerName: "herald",
		JetStream:  true,
		StoreDir:   cfg.Dir,
		NoSigs:     true,
		NoLog:      true,
		DontListen: cfg.Listen == "",
		// Group commit (commit.go) syncs for FsyncAlways on this platform;
		// elsewhere the engine syncs every write itself.
		SyncAlways: cfg.Fsync == FsyncAlways && !groupCommitSupported,
	}
	if cfg.Listen != "" {
		host, port, err := splitHostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("eventlog: nats listen address: %w", err)
		}
		opts.Host, opts.Port = host, port
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("eventlog: embedded engine: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("eventlog: embedded engine did not start within 30s")
	}
	return ns, nil
}

func (l *Log) ensureStream(ctx context.Context) error {
	sc := jetstream.StreamConfig{
		Name:        l.stream,
		Description: "herald event log",
		Subjects:    []string{subjectPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      l.cfg.MaxAge,
		MaxBytes:    l.cfg.MaxBytes,
		Storage:     jetstream.FileStorage,
		Replicas:    l.cfg.Replicas,
		Duplicates:  DedupeWindow,
		AllowDirect: true,
	}
	if sc.MaxBytes == 0 {
		sc.MaxBytes = -1
	}
	if _, err := l.js.CreateOrUpdateStream(ctx, sc); err != nil {
		return fmt.Errorf("eventlog: create stream %s: %w", l.stream, engineErr(err))
	}
	// On a cluster a new stream answers only once its replicas elected a
	// leader: wait for that rather than failing the first appends.
	return waitReady(ctx, func(ctx context.Context) error {
		s, err := l.js.Stream(ctx, l.stream)
		if err != nil {
			return err
		}
		if c := s.CachedInfo().Cluster; c != nil && c.Leader == "" && l.cfg.Replicas > 1 {
			return ErrUnavailable
		}
		return nil
	})
}

// waitReady retries probe until it succeeds or ctx (at most 30 s) ends.
func waitReady(ctx context.Context, probe func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		err := probe(pctx)
		pcancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("eventlog: not ready: %w", engineErr(err))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Ping checks that the engine answers (for readiness probes).
func (l *Log) Ping(ctx context.Context) error {
	if l.nc.Status() != nats.CONNECTED {
		return fmt.Errorf("eventlog: %w: %s", ErrUnavailable, l.nc.Status())
	}
	if _, err := l.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("eventlog: %w", engineErr(err))
	}
	return nil
}

// Close flushes and disconnects; with an embedded engine it shuts it down
// cleanly, so its files are consistent for the next start.
func (l *Log) Close() error {
	if l.commit != nil {
		l.commit.close()
	}
	if l.nc != nil {
		closeConn(l.nc)
	}
	stopEngine(l.ns)
	return nil
}

// closeConn drains nc (what it sent reaches the engine) and closes it.
func closeConn(nc *nats.Conn) {
	_ = nc.Drain()
	for nc.IsDraining() {
		time.Sleep(5 * time.Millisecond)
	}
	nc.Close()
}

// stopEngine shuts an embedded engine (nil: none) down cleanly, so its
// files are consistent for the next start.
func stopEngine(ns *server.Server) {
	if ns != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
	}
}

// ClientURL returns the embedded engine's client URL when it listens, else "".
func (l *Log) ClientURL() string {
	if l.ns == nil || l.cfg.Listen == "" {
		return ""
	}
	return l.ns.ClientURL()
}

// engineErr maps NATS transport errors onto ErrUnavailable so callers can
// answer 503 without knowing NATS.
func engineErr(err error) error {
	switch {
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, jetstream.ErrJetStreamNotEnabled), errors.Is(err, nats.ErrReconnectBufExceeded),
		errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrStaleConnection),
		errors.Is(err, jetstream.ErrAsyncPublishTimeout), errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		return errors.Join(ErrUnavailable, err)
	}
	return err
}
