package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
)

// A retention age below the engine's dedupe window stops herald before it
// touches anything, with one line that names the flag and the minimum.
func TestServeRejectsShortRetention(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	_, stderr, code := herald(t, "--data", data, "--http", "127.0.0.1:0", "--https", "", "--retention-age", "1m")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	msg := strings.TrimSuffix(stderr, "\n")
	if strings.Contains(msg, "\n") || strings.Count(msg, "herald:") != 1 || !strings.HasPrefix(msg, "herald: ") ||
		strings.Count(msg, "--retention-age") != 1 || !strings.Contains(msg, "minimum of 2m0s") {
		t.Errorf("stderr %q; want one line \"herald: \" naming --retention-age and its minimum of 2m0s", stderr)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the data directory exists after the refusal (%v)", err)
	}
}

// The limit flags reach the server's configuration; 0 on the command line
// is no limit, and the defaults are the machine's.
func TestServeLimits(t *testing.T) {
	total, perAddr := server.DefaultConnLimits()
	tests := []struct {
		args           []string
		conns, perConn int
		body           time.Duration
	}{
		{conns: total, perConn: perAddr, body: 30 * time.Second},
		{args: []string{"--max-connections", "0", "--max-connections-per-ip", "0"}, conns: -1, perConn: -1, body: 30 * time.Second},
		{args: []string{"--max-connections", "500", "--max-connections-per-ip", "20", "--body-timeout", "5s"}, conns: 500, perConn: 20, body: 5 * time.Second},
	}
	for _, tt := range tests {
		var cli CLI
		if _, err := newParser(t, &cli).Parse(append([]string{"serve"}, tt.args...)); err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		cfg := cli.Serve.config("data", nil)
		if cfg.MaxConns != tt.conns || cfg.MaxConnsPerAddr != tt.perConn || cfg.BodyTimeout != tt.body {
			t.Errorf("%q: MaxConns %d, MaxConnsPerAddr %d, BodyTimeout %v; want %d, %d, %v",
				tt.args, cfg.MaxConns, cfg.MaxConnsPerAddr, cfg.BodyTimeout, tt.conns, tt.perConn, tt.body)
		}
	}
}

// fakeServer is a server without certificate files, for reload: it
// keeps what a reload set.
type fakeServer struct {
	rate      float64
	burst     int
	accessLog bool
}

func (*fakeServer) CertFromFiles() bool         { return false }
func (*fakeServer) ReloadCert() (string, error) { return "", nil }
func (f *fakeServer) SetRate(r float64, b int)  { f.rate, f.burst = r, b }
func (f *fakeServer) SetAccessLog(on bool)      { f.accessLog = on }

// parsed is what reload reads again: the command and its settings, from
// a serve command line.
func parsed(t *testing.T, args ...string) (ServeCmd, []setting) {
	t.Helper()
	var cli CLI
	kctx, err := newParser(t, &cli).Parse(append([]string{"serve"}, args...))
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return cli.Serve, settings(kctx)
}

// A reload takes the log level, the rate limit and the access log the
// flags say now, and a logger built on the level shows it at once; a
// change of anything else is logged as needing a restart, and still is at
// the next reload; if the flags cannot be read, everything stays.
func TestReloadAppliesWhatItCan(t *testing.T) {
	var out strings.Builder
	level := new(slog.LevelVar)
	logger := newLogger(&out, "text", level)
	c, running := parsed(t)
	srv := &fakeServer{}
	reread := func(args ...string) serveFlags {
		return func() (ServeCmd, []setting, error) {
			c, s := parsed(t, args...)
			return c, s, nil
		}
	}

	logger.Debug("hidden")
	running = c.reload(logger, level, srv, running,
		reread("--log-level", "debug", "--rate-limit", "5", "--rate-burst", "7", "--access-log=false", "--http", ":9999"))
	logger.Debug("shown")
	if srv.rate != 5 || srv.burst != 7 || srv.accessLog || level.Level() != slog.LevelDebug {
		t.Errorf("after the reload: rate %v, burst %d, access log %v, level %v; want 5, 7, false, debug",
			srv.rate, srv.burst, srv.accessLog, level.Level())
	}
	running = c.reload(logger, level, srv, running, reread("--log-level", "debug", "--rate-limit", "0", "--http", ":9999"))
	if !math.IsInf(srv.rate, 1) || !srv.accessLog {
		t.Errorf("--rate-limit 0 set rate %v, want +Inf (no limit); access log %v, want true", srv.rate, srv.accessLog)
	}
	c.reload(logger, level, srv, running, func() (ServeCmd, []setting, error) { return ServeCmd{}, nil, errors.New("no flags") })

	got := out.String()
	if strings.Contains(got, "hidden") || !strings.Contains(got, "msg=shown") || level.Level() != slog.LevelDebug {
		t.Errorf("level %v, log:\n%s\nwant debug lines after the first reload, and debug kept after the failed one", level.Level(), got)
	}
	for _, want := range []string{
		"msg=reloaded changed=\"[rate-limit rate-burst access-log log-level]\" log_level=DEBUG rate_limit=5 rate_burst=7 access_log=false",
		"msg=reloaded changed=\"[rate-limit rate-burst access-log]\" log_level=DEBUG rate_limit=0 rate_burst=2000 access_log=true",
		"msg=reloaded log_level=DEBUG rate_limit=0 rate_burst=2000 access_log=true", // the failed read
		"no flags",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log:\n%s\nlacks %q", got, want)
		}
	}
	if n := strings.Count(got, "msg=\"reload: changed settings need a restart to take effect\" keys=[http]"); n != 2 {
		t.Errorf("log:\n%s\nwant the restart line, naming http, at both reloads that read it (got %d)", got, n)
	}
}

// The app-token and CORS flags reach the server's configuration; an
// audience or issuer without a key to verify with is refused, and so are
// a public key and a JWKS URL together.
func TestServeAppTokenAndCORSFlags(t *testing.T) {
	var cli CLI
	args := []string{"serve", "--jwt-hmac-secret-file", "/s", "--jwt-jwks-url", "https://app.example/jwks.json",
		"--jwt-audience", "herald", "--jwt-issuer", "https://app.example", "--cors-origins", "https://a.example,https://b.example"}
	if _, err := newParser(t, &cli).Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg := cli.Serve.config("data", nil)
	a := cfg.AppTokens
	if a.HMACSecretFile != "/s" || a.JWKSURL != "https://app.example/jwks.json" || a.Audience != "herald" || a.Issuer != "https://app.example" ||
		strings.Join(cfg.CORSOrigins, " ") != "https://a.example https://b.example" {
		t.Fatalf("config %+v, CORS %q", a, cfg.CORSOrigins)
	}
	if err := cli.Serve.check(); err != nil {
		t.Fatal(err)
	}
	cli = CLI{}
	if _, err := newParser(t, &cli).Parse([]string{"serve", "--jwt-audience", "herald"}); err != nil {
		t.Fatal(err)
	}
	if err := cli.Serve.check(); err == nil || !strings.Contains(err.Error(), "--jwt-hmac-secret-file") {
		t.Fatalf("audience without a key: %v", err)
	}
	cli = CLI{}
	if _, err := newParser(t, &cli).Parse([]string{"serve", "--jwt-public-key-file", "/k", "--jwt-jwks-url", "https://x/j"}); err == nil {
		t.Fatal("a public key and a JWKS URL together were accepted")
	}
}
