package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/server"
)

// herald's own HTTPS port, self-signed: refused with a hint naming the
// certificate to trust, then trusted with --ca, or not checked with
// --insecure — by the client commands and the admin calls alike.
func TestCAAndInsecure(t *testing.T) {
	ts := startServer(t, server.Config{HTTPSAddr: "127.0.0.1:0"})
	data := ts.Cfg.DataDir
	base := ts.Srv.TLSURL
	cert := filepath.Join(data, "tls", "cert.pem")

	_, stderr, code := herald(t, "--url", base, "--data", data, "publish", "--topic", "app.tls", "-d", `{}`)
	if code != 1 || !strings.Contains(stderr, "--ca "+cert) || !strings.HasPrefix(stderr, "herald: publish: ") {
		t.Fatalf("untrusted: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"--ca", cert, "publish", "--topic", "app.tls", "-d", `{}`},
		{"--insecure", "publish", "--topic", "app.tls", "-d", `{}`},
		{"--ca", cert, "hue", "link"},
		{"--insecure", "faults", "list"},
	} {
		if _, stderr, code := herald(t, append([]string{"--url", base, "--data", data}, args...)...); code != 0 {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
	}
	_, stderr, code = herald(t, "--url", base, "--data", data, "--ca", filepath.Join(data, "admin.key"), "publish", "--topic", "app.tls")
	if code != 1 || !strings.Contains(stderr, "no PEM certificate") {
		t.Fatalf("--ca of a file that is no certificate: exit %d, %q", code, stderr)
	}
}
