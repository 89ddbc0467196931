package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/herald-io/herald/internal/auth/apptoken"
	"github.com/herald-io/herald/internal/buildinfo"
	"github.com/herald-io/herald/internal/console"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/reqlog"
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
	IOUring              bool          `name:"io-uring" env:"HERALD_IO_URING" default:"true" negatable:"" help:"Send the fan-out workers' writes in batches through io_uring instead of one writev per stream (Linux; where io_uring is not allowed, writev; --no-io-uring: always writev)."`
	StreamsPerKey        int           `name:"streams-per-key" env:"HERALD_STREAMS_PER_KEY" default:"1000" help:"Open SSE and WebSocket streams one key may have on this node; more get 429 (0 for no cap)."`
	TLSHosts             []string      `name:"tls-hosts" env:"HERALD_TLS_HOSTS" help:"Extra host names for the self-signed certificate."`
	TLSCert              string        `name:"tls-cert" env:"HERALD_TLS_CERT" type:"path" and:"tls" help:"PEM certificate (leaf first, then its chain) to serve instead of the self-signed one; read again when it changes and on SIGHUP."`
	TLSKey               string        `name:"tls-key" env:"HERALD_TLS_KEY" type:"path" and:"tls" help:"PEM private key of --tls-cert."`
	ACMEDomains          []string      `name:"acme-domains" env:"HERALD_ACME_DOMAINS" help:"Get certificates for these names (comma-separated) from an ACME CA, through a challenge on the HTTPS port (TLS-ALPN-01) or on plain HTTP (HTTP-01); kept in <data>/acme and renewed before they expire. Other names get the self-signed certificate. Not with --tls-cert."`
	ACMEEmail            string        `name:"acme-email" env:"HERALD_ACME_EMAIL" help:"Contact address of the ACME account, for the CA's expiry and problem notices."`
	ACMEDirectory        string        `name:"acme-directory" env:"HERALD_ACME_DIRECTORY" default:"https://acme-v02.api.letsencrypt.org/directory" help:"The ACME CA's directory URL (default: Let's Encrypt's production)."`
	ACMECAFile           string        `name:"acme-ca-file" env:"HERALD_ACME_CA_FILE" type:"path" help:"PEM certificates to trust, besides the system's, for the ACME directory's HTTPS (a test CA such as Pebble)."`
	TLSReloadEvery       time.Duration `name:"tls-reload-every" env:"HERALD_TLS_RELOAD_EVERY" default:"5s" help:"How often to check --tls-cert and --tls-key for a change (0: only on SIGHUP)."`
	RateLimit            float64       `name:"rate-limit" env:"HERALD_RATE_LIMIT" default:"1000" help:"Requests per second a key may make, unless it has a rate of its own; more get 429 (0: no limit). Reloaded on SIGHUP."`
	RateBurst            int           `name:"rate-burst" env:"HERALD_RATE_BURST" default:"2000" help:"Requests a key under --rate-limit may make at once. Reloaded on SIGHUP."`
	AccessLog            bool          `name:"access-log" env:"HERALD_ACCESS_LOG" default:"true" help:"One log line per request, at info (--access-log=false: none). Reloaded on SIGHUP."`
	AccessLogFlush       time.Duration `name:"access-log-flush" env:"HERALD_ACCESS_LOG_FLUSH" default:"200ms" help:"Longest an access-log line waits to be written with others (64 KiB at a time, or with the next other line); 0: each at once. Written at shutdown and on SIGHUP."`
	LogFormat            string        `name:"log-format" env:"HERALD_LOG_FORMAT" default:"text" enum:"text,json" help:"Log format; json makes every line herald writes JSON, the start-up banner too."`
	LogLevel             slog.Level    `name:"log-level" env:"HERALD_LOG_LEVEL" default:"info" help:"Log level: debug, info, warn, error. Reloaded on SIGHUP."`
	JWTHMACSecret        string        `name:"jwt-hmac-secret-file" env:"HERALD_JWT_HMAC_SECRET_FILE" type:"path" help:"Accept app-signed tokens: HS256 JWTs signed with the secret in this file (at least 32 bytes; a final line break is not part of it)."`
	JWTPublicKey         string        `name:"jwt-public-key-file" env:"HERALD_JWT_PUBLIC_KEY_FILE" type:"path" xor:"jwt-key" help:"Accept JWTs signed by this PEM public key's private half: RSA (RS256), P-256 (ES256) or Ed25519 (EdDSA)."`
	JWTJWKSURL           string        `name:"jwt-jwks-url" env:"HERALD_JWT_JWKS_URL" xor:"jwt-key" help:"Accept JWTs signed by a key of this JSON Web Key Set (RS256, ES256, EdDSA), read again every 5 minutes and when a token names a key it lacks."`
	JWTAudience          string        `name:"jwt-audience" env:"HERALD_JWT_AUDIENCE" help:"JWTs must name this audience (aud); without it, a JWT that names any audience is refused."`
	JWTIssuer            string        `name:"jwt-issuer" env:"HERALD_JWT_ISSUER" help:"JWTs must have this issuer (iss)."`
	CORSOrigins          []string      `name:"cors-origins" env:"HERALD_CORS_ORIGINS" help:"Origins whose pages may call the native and admin API from a browser (https://app.example.com, comma-separated; * for any). Default: none."`
	WebhooksAllowPrivate bool          `name:"webhooks-allow-private" env:"HERALD_WEBHOOKS_ALLOW_PRIVATE" help:"Let webhook endpoints be on loopback, private, link-local and other non-public addresses (refused by default)."`
	WebhooksAllow        []string      `name:"webhooks-allow" env:"HERALD_WEBHOOKS_ALLOW" placeholder:"CIDR" help:"Address ranges webhook endpoints may be on although not public, e.g. 10.1.0.0/16 (comma-separated)."`
}

// errLogged is a failure already written to the log: herald exits 1
// without a line of its own.
var errLogged = errors.New("logged")

// serveFlags reads the serve command's flags again (its environment
// variables and configuration file included), for a reload: the command
// and the settings in effect.
type serveFlags func() (ServeCmd, []setting, error)

// Run starts the server and serves until SIGINT or SIGTERM; SIGHUP reloads
// what can change without a restart.
func (c *ServeCmd) Run(ctx context.Context, kctx *kong.Context, g *Globals, reread serveFlags) error {
	level := new(slog.LevelVar)
	level.Set(c.LogLevel)
	out := reqlog.NewWriter(os.Stderr, accessLogBuffer, c.AccessLogFlush)
	defer out.Close() // what waits: the lines of streams the shutdown ended
	logger, accessLogger := newLogger(out, c.LogFormat, level), newLogger(out.Lines(), c.LogFormat, level)
	// In JSON mode the reason herald does not start is a record too.
	failed := func(err error) error {
		if c.LogFormat != "json" {
			return err
		}
		logger.Error("herald did not start", "err", err)
		return errLogged
	}
	if err := c.check(); err != nil {
		return failed(err)
	}
	running := settings(kctx)
	// Before anything starts: SIGHUP's default action ends the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	cfg := c.config(g.Data, logger)
	cfg.AccessLogger = accessLogger
	srv, err := server.Start(ctx, cfg)
	if err != nil {
		return failed(err)
	}
	if c.LogFormat == "json" {
		c.bannerRecord(logger, srv, g.Data)
	} else {
		c.banner(os.Stdout, srv, g.Data)
	}
	for {
		select {
		case <-hup:
			out.Flush() // the lines so far, before the reload's and whatever it changes
			running = c.reload(logger, level, srv, running, reread)
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

// reloader is the part of *server.Server a reload uses.
type reloader interface {
	CertFromFiles() bool
	ReloadCert() (fingerprint string, err error)
	SetRate(perSecond float64, burst int)
	SetAccessLog(on bool)
}

// reloadable are the settings a reload applies; a change of any other is
// logged as needing a restart.
var reloadable = []string{"log-level", "rate-limit", "rate-burst", "access-log"}

// notServing are the global flags only the client commands use.
var notServing = []string{"url", "key"}

// reload applies what can change without a restart: the log level, the
// rate limit and the access log (from the flags, variables and file read
// again) and the certificate files. It logs one line saying what it
// reloaded, one naming the changed settings that need a restart, and one
// for each thing that failed, which keeps its previous value. It returns
// the settings in effect afterwards: those it applied from the new read,
// the others as they were.
func (c *ServeCmd) reload(log *slog.Logger, level *slog.LevelVar, srv reloader, running []setting, reread serveFlags) []setting {
	did := []any{}
	next, nextSettings, err := reread()
	if err != nil {
		log.Error("reload: reading the configuration failed; nothing in it changes", "err", err)
	} else {
		var applied, restart []string
		for _, name := range changedSettings(running, nextSettings) {
			switch {
			case slices.Contains(reloadable, name):
				applied = append(applied, name)
			case !slices.Contains(notServing, name):
				restart = append(restart, name)
			}
		}
		level.Set(next.LogLevel)
		srv.SetRate(next.rate())
		srv.SetAccessLog(next.AccessLog)
		c.LogLevel, c.RateLimit, c.RateBurst, c.AccessLog = next.LogLevel, next.RateLimit, next.RateBurst, next.AccessLog
		running = keep(running, nextSettings, applied)
		if len(applied) > 0 {
			did = append(did, "changed", applied)
		}
		if len(restart) > 0 {
			log.Warn("reload: changed settings need a restart to take effect", "keys", restart)
		}
	}
	did = append(did, "log_level", level.Level(), "rate_limit", c.RateLimit, "rate_burst", c.RateBurst, "access_log", c.AccessLog)
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
	return running
}

// keep returns running with the named settings taken from next.
func keep(running, next []setting, names []string) []setting {
	out := slices.Clone(running)
	for i, s := range out {
		if !slices.Contains(names, s.Name) {
			continue
		}
		for _, n := range next {
			if n.Name == s.Name {
				out[i] = n
			}
		}
	}
	return out
}

// rate is --rate-limit and --rate-burst as the server takes them.
func (c *ServeCmd) rate() (float64, int) {
	if c.RateLimit == 0 {
		return math.Inf(1), c.RateBurst
	}
	return c.RateLimit, c.RateBurst
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
	rate, burst := c.rate()
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
		IOUring:         c.IOUring,
		StreamsPerKey:   noLimitIfZero(c.StreamsPerKey),
		TLSHosts:        c.TLSHosts,
		TLSCertFile:     c.TLSCert,
		TLSKeyFile:      c.TLSKey,
		TLSReloadEvery:  time.Duration(noLimitIfZero(int(c.TLSReloadEvery))), // 0: only on SIGHUP
		RateLimit:       rate,
		RateBurst:       burst,
		AccessLog:       c.AccessLog,
		Logger:          logger,
		AppTokens: apptoken.Config{HMACSecretFile: c.JWTHMACSecret, PublicKeyFile: c.JWTPublicKey,
			JWKSURL: c.JWTJWKSURL, Audience: c.JWTAudience, Issuer: c.JWTIssuer},
		CORSOrigins: c.CORSOrigins,
		ACME:        c.acme(),
		Webhooks:    webhook.Config{Policy: webhook.Policy{AllowPrivate: c.WebhooksAllowPrivate, Allow: c.webhooksAllow()}},
	}
}

// acme is the ACME configuration (none without --acme-domains).
func (c *ServeCmd) acme() server.ACMEConfig {
	if len(c.ACMEDomains) == 0 {
		return server.ACMEConfig{}
	}
	return server.ACMEConfig{Domains: c.ACMEDomains, Email: c.ACMEEmail, Directory: c.ACMEDirectory, CAFile: c.ACMECAFile}
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
	if c.RateLimit < 0 || math.IsNaN(c.RateLimit) || c.RateBurst < 1 {
		return fmt.Errorf("--rate-limit %v --rate-burst %d: want a rate of 0 (no limit) or more, and a burst of 1 or more",
			c.RateLimit, c.RateBurst)
	}
	if (c.JWTAudience != "" || c.JWTIssuer != "") && c.JWTHMACSecret == "" && c.JWTPublicKey == "" && c.JWTJWKSURL == "" {
		return errors.New("--jwt-audience and --jwt-issuer need a key to verify tokens with: --jwt-hmac-secret-file, --jwt-public-key-file or --jwt-jwks-url")
	}
	if len(c.ACMEDomains) > 0 && (c.TLSCert != "" || c.TLSKey != "") {
		return errors.New("--tls-cert and --acme-domains are mutually exclusive: serve your own certificate files, or have herald get certificates by ACME")
	}
	if len(c.ACMEDomains) == 0 && (c.ACMEEmail != "" || c.ACMECAFile != "" || c.ACMEDirectory != server.DefaultACMEDirectory) {
		return errors.New("--acme-email, --acme-directory and --acme-ca-file need --acme-domains, the names to get certificates for")
	}
	for _, s := range c.WebhooksAllow {
		if _, err := netip.ParsePrefix(strings.TrimSpace(s)); err != nil {
			return fmt.Errorf("--webhooks-allow %q is not an address range such as 10.1.0.0/16", s)
		}
	}
	return nil
}

// accessLogBuffer is how many bytes of access lines wait at most: a few
// hundred lines, one write(2) for all of them (nginx's default buffer=
// is 64k too).
const accessLogBuffer = 64 << 10

func newLogger(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// startFacts are what the banner says, as text or as a log record.
type startFacts struct {
	build      buildinfo.Info
	engine     string // where the log is
	certSource string // self-signed, or the certificate file
	keyFile    string // the admin key's file
	base       string // the URL the examples use
}

func (c *ServeCmd) facts(srv *server.Server, data string) startFacts {
	f := startFacts{build: buildinfo.Read(), engine: "embedded NATS JetStream in " + filepath.Join(data, "engine"),
		certSource: "self-signed", keyFile: filepath.Join(data, "admin.key"), base: srv.URL}
	if len(c.NATS) > 0 {
		f.engine = "NATS at " + strings.Join(c.NATS, ",")
	}
	if srv.CertFromFiles() {
		f.certSource = c.TLSCert
	}
	if d := srv.ACMEDomains(); len(d) > 0 {
		f.certSource = "ACME for " + strings.Join(d, ",") + "; other names self-signed"
	}
	if f.base == "" {
		f.base = srv.TLSURL
	}
	return f
}

// banner prints the URLs and, on first start only, the admin key.
func (c *ServeCmd) banner(w io.Writer, srv *server.Server, data string) {
	f := c.facts(srv, data)
	fmt.Fprintf(w, "herald %s\n", f.build)
	if srv.URL != "" {
		fmt.Fprintf(w, "  http   %s\n", srv.URL)
	}
	if srv.TLSURL != "" {
		fmt.Fprintf(w, "  https  %s  (%s, SHA-256 %s)\n", srv.TLSURL, f.certSource, srv.CertFingerprint())
	}
	fmt.Fprintf(w, "  log    %s, fsync %s, retention %s / %s\n", f.engine, c.Fsync, c.RetentionAge, c.RetentionBytes)
	fmt.Fprintf(w, "  limits %s connections (%s per address), request bodies within %s\n",
		orUnlimited(c.MaxConns), orUnlimited(c.MaxConnsPerIP), c.BodyTimeout)
	if k := srv.AdminKey(); k != "" {
		fmt.Fprintf(w, "  admin key (shown once; also in %s):\n    %s\n", f.keyFile, k)
	} else {
		fmt.Fprintf(w, "  admin key in %s\n", f.keyFile)
	}
	fmt.Fprintf(w, "  web    %s%s  (the console: sign in with a key)\n", f.base, console.Path)
	fmt.Fprintf(w, "  try    curl -N -H \"Authorization: Bearer $(cat %s)\" '%s/v1/stream'\n", f.keyFile, f.base)
}

// bannerRecord is the banner as one log record, for --log-format json:
// the same facts, but the admin key only by its file — JSON logs are
// shipped to aggregators, where a secret must not go.
func (c *ServeCmd) bannerRecord(log *slog.Logger, srv *server.Server, data string) {
	f := c.facts(srv, data)
	args := []any{"version", f.build.Version, "revision", f.build.Rev(), "go", f.build.Go}
	if srv.URL != "" {
		args = append(args, "http", srv.URL)
	}
	if srv.TLSURL != "" {
		args = append(args, "https", srv.TLSURL, "tls_cert", f.certSource, "sha256", srv.CertFingerprint())
	}
	args = append(args, "engine", f.engine, "fsync", c.Fsync, "retention_age", c.RetentionAge.String(),
		"retention_bytes", c.RetentionBytes.String(), "max_connections", orUnlimited(c.MaxConns),
		"max_connections_per_ip", orUnlimited(c.MaxConnsPerIP), "body_timeout", c.BodyTimeout.String(),
		"admin_key_file", f.keyFile, "admin_key_created", srv.AdminKey() != "")
	args = append(args, "console", f.base+console.Path)
	log.Info("herald started", args...)
}

// orUnlimited renders a limit whose 0 means none.
func orUnlimited(n int) string {
	if n <= 0 {
		return "unlimited"
	}
	return strconv.Itoa(n)
}
