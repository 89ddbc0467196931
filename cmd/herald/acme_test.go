package main

import (
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/server"
)

// The ACME flags reach the server's configuration, Let's Encrypt's
// production directory by default; --tls-cert with --acme-domains, and the
// other ACME flags without domains, are refused in the flags' terms.
func TestServeACMEFlags(t *testing.T) {
	parse := func(args ...string) ServeCmd {
		t.Helper()
		var cli CLI
		if _, err := newParser(t, &cli).Parse(append([]string{"serve"}, args...)); err != nil {
			t.Fatal(err)
		}
		return cli.Serve
	}
	c := parse("--acme-domains", "a.example.com,b.example.com", "--acme-email", "ops@example.com")
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	got := c.config("data", nil).ACME
	want := server.ACMEConfig{Domains: []string{"a.example.com", "b.example.com"}, Email: "ops@example.com", Directory: server.DefaultACMEDirectory}
	if strings.Join(got.Domains, ",") != strings.Join(want.Domains, ",") || got.Email != want.Email || got.Directory != want.Directory || got.CAFile != "" {
		t.Fatalf("ACME config %+v; want %+v", got, want)
	}

	if c := parse(); c.check() != nil || len(c.config("data", nil).ACME.Domains) != 0 {
		t.Fatalf("without ACME flags: %v, %+v", c.check(), c.config("data", nil).ACME)
	}

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--acme-domains", "a.example.com", "--tls-cert", "/c.pem", "--tls-key", "/k.pem"}, "mutually exclusive"},
		{[]string{"--acme-email", "ops@example.com"}, "need --acme-domains"},
		{[]string{"--acme-directory", "https://127.0.0.1:14000/dir"}, "need --acme-domains"},
		{[]string{"--acme-ca-file", "/pebble.pem"}, "need --acme-domains"},
	} {
		c := parse(bad.args...)
		if err := c.check(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v; want an error saying %q", bad.args, err, bad.want)
		}
	}
}
