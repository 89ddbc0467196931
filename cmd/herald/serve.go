package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/herald-io/herald/internal/buildinfo"
	"github.com/herald-io/herald/internal/console"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/webhook"
)

// ServeCmd runs the server.
type ServeCmd struct {
	HTTP                 string        `name:"http" env:"HERALD_HTTP" default:":8080" help:"Plain HTTP listen address (empty to disable)."`
	HTTPS                string        `name:"https" env:"HERALD_HTTPS" default:":8443" help:"HTTPS listen address (self-signed certificate unless --tls-cert); the port also answers plain HTTP (empty to disable)."`
	NATS                 []string      `name:"nats" env:"HERALD_NATS" help:"External NATS URLs (comma-separated); default: embedded NATS JetStream."`
	NATSListen           string        `name:"nats-listen" env:"HERALD_NATS_LISTEN" help:"Open the embedded engine's NATS client port, e.g. 127.0.0.1:4222."`
	Replicas             int           `name:"replicas" env:"HERALD_REPLICAS" default:"1" help:"Replicas of the stream and state buckets (external clusters)."`
	RetentionAge         time.Duration `name:"retention-age" env:"HERALD_RETENTION_AGE" default:"168h" help:"Drop events older than this, at least 2m (0 keeps them)."`
	RetentionBytes       ByteSize      `name:"retention-bytes" env:"HERALD_RETENTION_BYTES" default:"1GiB" help:"Keep at most this much event data (0 for no limit)."`
	Fsync                string        `name:"fsync" env:"HERALD_FSYNC" default:"default" enum:"default,always" help:"default: acknowledged events survive a crash of herald; always: also a power loss (group commit)."`
	WriteTimeout         time.Duration `name:"write-timeout" env:"HERALD_WRITE_TIMEOUT" default:"30s" help:"Close streaming connections that accept no bytes for this long."`
	BodyTimeout          time.Duration `name:"body-timeout" env:"HERALD_BODY_TIMEOUT" default:"30s" help:"Cut a request whose body has not arrived this long after its headers (streams and long-polls have none)."`
	MaxConns             int           `name:"max-connections" env:"HERALD_MAX_CONNECTIONS" default:"${max_connections}" help:"Connections open at once over all listeners; more are answered 503 and closed. The default keeps a sixteenth of the open-file limit free (0: no limit)."`
	MaxConnsPerIP        int           `name:"max-connections-per-ip" env:"HERALD_MAX_CONNECTIONS_PER_IP" default:"${max_connections_per_ip}" help:"Connections open at once from one client address (IPv6: one /64); more are answered 429 and closed. Behind a proxy all clients share its address: raise it, or 0 (no limit)."`
	FanoutWorkers        int           `name:"fanout-workers" env:"HERALD_FANOUT_WORKERS" help:"Goroutines writing events to caught-up SSE streams (default: one per core but one, at least 1)."`
	StreamsPerKey        int           `name:"streams-per-key" env:"HERALD_STREAMS_PER_KEY" default:"1000" help:"Open SSE and WebSocket streams one key may have on this node; more get 429 (0 for no cap)."`
	TLSHosts             []string      `name:"tls-hosts" env:"HERALD_TLS_HOSTS" help:"Extra host names for the self-signed certificate."`
	TLSCert              string        `name:"tls-cert" env:"HERALD_TLS_CERT" type:"path" and:"tls" help:"PEM certificate (leaf first, then its chain) to serve instead of the self-signed one; read again when it changes and on SIGHUP."`
	TLSKey               string        `name:"tls-key" env:"HERALD_TLS_KEY" type:"path" and:"tls" help:"PEM private key of --tls-cert."`
	TLSReloadEvery       time.Duration `name:"tls-reload-every" env:"HERALD_TLS_RELOAD_EVERY" default:"5s" help:"How often to check --tls-cert and --tls-key for a change (0: only on SIGHUP)."`
	WebhooksAllowPrivate bool          `name:"webhooks-allow-private" env:"HERALD_WEBHOOKS_ALLOW_PRIVATE" help:"Let webhook endpoints be on loopback, private, link-local and other non-public addresses (refused by default)."`
	WebhooksAllow        []string      `name:"webhooks-allow" env:"HERALD_WEBHOOKS_ALLOW" placeholder:"CIDR" help:"Address ranges webhook endpoints may be on although not public, e.g. 10.1.0.0/16 (comma-separated)."`
	LogFormat            string        `name:"log-format" env:"HERALD_LOG_FORMAT" default:"text" enum:"text,json" help:"Log format."`
	LogLevel             slog.Level    `name:"log-level" env:"HERALD_LOG_LEVEL" default:"info" help:"Log level: debug, info, warn, error."`
}

// serveFlags reads the serve command's flags again (its environment
// variables included), for a reload.
type serveFlags func() (ServeCmd, error)

// Run starts the server and serves until SIGINT or SIGTERM; SIGHUP reloads
// what can change without a restart.
func (c *ServeCmd) Run(ctx context.Context, g *Globals, reread serveFlags) error {
	if err := c.check(); err != nil {
		return err
	}
	// Before anything starts: SIGHUP's default action ends the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	level := new(slog.LevelVar)
	level.Set(c.LogLevel)
	logger := newLogger(os.Stderr, c.LogFormat, level)
	srv, err := server.Start(ctx, c.config(g.Data, logger))
	if err != nil {
		return err
	}
	c.banner(os.Stdout, srv, g.Data)
	for {
		select {
		case <-hup:
			c.reload(logger, level, srv, reread)
			continue
		case <-ctx.Done():
		}
		break
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// certReloader is the part of *server.Server a reload uses.
type certReloader interface {
	CertFromFiles() bool
	ReloadCert() (fingerprint string, err error)
}

// reload applies what can change without a restart: the log level (from
// the flags read again) and the certificate files. It logs one line saying
// what it reloaded, and one for each thing that failed, which keeps its
// previous value.
func (c *ServeCmd) reload(log *slog.Logger, level *slog.LevelVar, srv certReloader, reread serveFlags) {
	var did []any
	if next, err := reread(); err != nil {
		log.Error("reload: reading the flags failed; the log level stays", "err", err)
	} else {
		level.Set(next.LogLevel)
	}
	did = append(did, "log_level", level.Level())
	if srv.CertFromFiles() {
		fp, err := srv.ReloadCert()
		if err != nil {
			log.Error("reload: TLS certificate files do not load; still serving the previous certificate",
				"tls_cert", c.TLSCert, "tls_key", c.TLSKey, "err", err)
		} else {
			did = append(did, "tls_cert", c.TLSCert, "sha256", fp)
		}
	}
	log.Info("reloaded", did...)
}

// config is the server's configuration from the flags.
func (c *ServeCmd) config(data string, logger *slog.Logger) server.Config {
	// 0 means no limit on the command line, a negative number in Config.
	noLimitIfZero := func(n int) int {
		if n == 0 {
			return -1
		}
		return n
	}
	return server.Config{
		DataDir:         data,
		HTTPAddr:        c.HTTP,
		HTTPSAddr:       c.HTTPS,
		NATS:            c.NATS,
		NATSListen:      c.NATSListen,
		Replicas:        c.Replicas,
		RetentionAge:    c.RetentionAge,
		RetentionBytes:  int64(c.RetentionBytes),
		Fsync:           eventlog.Fsync(c.Fsync),
		WriteTimeout:    c.WriteTimeout,
		BodyTimeout:     c.BodyTimeout,
		MaxConns:        noLimitIfZero(c.MaxConns),
		MaxConnsPerAddr: noLimitIfZero(c.MaxConnsPerIP),
		FanoutWorkers:   c.FanoutWorkers,
		StreamsPerKey:   noLimitIfZero(c.StreamsPerKey),
		TLSHosts:        c.TLSHosts,
		TLSCertFile:     c.TLSCert,
		TLSKeyFile:      c.TLSKey,
		TLSReloadEvery:  time.Duration(noLimitIfZero(int(c.TLSReloadEvery))), // 0: only on SIGHUP
		Logger:          logger,
		Webhooks:        webhook.Config{Policy: webhook.Policy{AllowPrivate: c.WebhooksAllowPrivate, Allow: c.webhooksAllow()}},
	}
}

// webhooksAllow is --webhooks-allow parsed (check refused what does not parse).
func (c *ServeCmd) webhooksAllow() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.WebhooksAllow {
		if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// check refuses values the server would refuse later, in the flags' terms
// and before anything is created.
func (c *ServeCmd) check() error {
	if c.RetentionAge < 0 || (c.RetentionAge > 0 && c.RetentionAge < eventlog.DedupeWindow) {
		return fmt.Errorf("--retention-age %s is below the minimum of %s, the window in which a repeated event id is recognised (0 keeps events)",
			c.RetentionAge, eventlog.DedupeWindow)
	}
	for _, s := range c.WebhooksAllow {
		if _, err := netip.ParsePrefix(strings.TrimSpace(s)); err != nil {
			return fmt.Errorf("--webhooks-allow %q is not an address range such as 10.1.0.0/16", s)
		}
	}
	return nil
}

func newLogger(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// banner prints the URLs and, on first start only, the admin key.
func (c *ServeCmd) banner(w io.Writer, srv *server.Server, data string) {
	engine := "embedded NATS JetStream in " + filepath.Join(data, "engine")
	if len(c.NATS) > 0 {
		engine = "NATS at " + strings.Join(c.NATS, ",")
	}
	fmt.Fprintf(w, "herald %s\n", buildinfo.Read())
	if srv.URL != "" {
		fmt.Fprintf(w, "  http   %s\n", srv.URL)
	}
	if srv.TLSURL != "" {
		source := "self-signed"
		if srv.CertFromFiles() {
			source = c.TLSCert
		}
		fmt.Fprintf(w, "  https  %s  (%s, SHA-256 %s)\n", srv.TLSURL, source, srv.CertFingerprint())
	}
	fmt.Fprintf(w, "  log    %s, fsync %s, retention %s / %s\n", engine, c.Fsync, c.RetentionAge, c.RetentionBytes)
	fmt.Fprintf(w, "  limits %s connections (%s per address), request bodies within %s\n",
		orUnlimited(c.MaxConns), orUnlimited(c.MaxConnsPerIP), c.BodyTimeout)
	keyFile := filepath.Join(data, "admin.key")
	if k := srv.AdminKey(); k != "" {
		fmt.Fprintf(w, "  admin key (shown once; also in %s):\n    %s\n", keyFile, k)
	} else {
		fmt.Fprintf(w, "  admin key in %s\n", keyFile)
	}
	base := srv.URL
	if base == "" {
		base = srv.TLSURL
	}
	fmt.Fprintf(w, "  web    %s%s  (the console: sign in with a key)\n", base, console.Path)
	fmt.Fprintf(w, "  try    curl -N -H \"Authorization: Bearer $(cat %s)\" '%s/v1/stream'\n", keyFile, base)
}

// orUnlimited renders a limit whose 0 means none.
func orUnlimited(n int) string {
	if n <= 0 {
		return "unlimited"
	}
	return strconv.Itoa(n)
}
