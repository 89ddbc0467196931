package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/idna"
)

// The ACME tests against Pebble are in ./acmetest; these check the
// configuration herald refuses before it starts.

func TestCheckACME(t *testing.T) {
	ok := func(domains ...string) Config {
		return Config{HTTPSAddr: ":0", ACME: ACMEConfig{Domains: domains}}
	}
	cases := []struct {
		name string
		cfg  Config
		want []string // the domains afterwards; nil with an error
		err  string   // part of the error; "" for none
	}{
		{"off", Config{}, nil, ""},
		{"normalised", ok(" Herald.Example.COM. ", "b.example.com", "herald.example.com"), []string{"herald.example.com", "b.example.com"}, ""},
		{"IDNA", ok("bücher.example"), []string{"xn--bcher-kva.example"}, ""},
		{"with certificate files", Config{HTTPSAddr: ":0", TLSCertFile: "c.pem", TLSKeyFile: "k.pem", ACME: ACMEConfig{Domains: []string{"a.example.com"}}}, nil, ErrTLSAndACME.Error()},
		{"without HTTPS", Config{ACME: ACMEConfig{Domains: []string{"a.example.com"}}}, nil, "no HTTPS listener"},
		{"email without domains", Config{ACME: ACMEConfig{Email: "ops@example.com"}}, nil, "no domains"},
		{"empty", ok("a.example.com", " "), nil, "empty domain"},
		{"wildcard", ok("*.example.com"), nil, "wildcard"},
		{"IP address", ok("192.0.2.1"), nil, "IP address"},
		{"IPv6 address", ok("[2001:db8::1]"), nil, "IP address"},
		{"one label", ok("localhost"), nil, "fully qualified"},
		{"empty label", ok("a..example.com"), nil, "1 to 63"},
		{"port", ok("a.example.com:443"), nil, "not a valid domain name"},
		{"underscore", ok("a_b.example.com"), nil, "not a valid domain name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			err := checkACME(&cfg)
			switch {
			case c.err == "" && err != nil:
				t.Fatalf("checkACME: %v", err)
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("checkACME: %v; want an error saying %q", err, c.err)
			case c.err == "" && !slices.Equal(cfg.ACME.Domains, c.want):
				t.Errorf("domains %q; want %q", cfg.ACME.Domains, c.want)
			}
		})
	}
}

// TestStartRefusesTLSAndACME: certificate files and ACME domains stop Start
// before it creates anything.
func TestStartRefusesTLSAndACME(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, err := Start(context.Background(), Config{DataDir: dir, HTTPSAddr: "127.0.0.1:0",
		TLSCertFile: "c.pem", TLSKeyFile: "k.pem", ACME: ACMEConfig{Domains: []string{"a.example.com"}}})
	if !errors.Is(err, ErrTLSAndACME) {
		t.Fatalf("Start: %v; want ErrTLSAndACME", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the data directory was made (%v)", err)
	}
}

// FuzzParseACMEDomains: what it accepts is a name autocert can get a
// certificate for and that a handshake's server name matches: lower-case
// ASCII, stable under IDNA lookup, at least two labels, no wildcard.
func FuzzParseACMEDomains(f *testing.F) {
	for _, s := range []string{"herald.example.com", "A.Example.COM.", "bücher.example", "*.example.com", "a..b", "192.0.2.1", "x"} {
		f.Add(s, "b.example.com")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		out, err := parseACMEDomains([]string{a, b})
		if err != nil {
			return
		}
		if len(out) == 0 || len(out) > 2 {
			t.Fatalf("%q, %q: %d domains", a, b, len(out))
		}
		for _, d := range out {
			again, err := idna.Lookup.ToASCII(d)
			if err != nil || again != d || d != strings.ToLower(d) {
				t.Errorf("%q is not in its lookup form (%q, %v)", d, again, err)
			}
			if strings.ContainsAny(d, "*:[] ") || !strings.Contains(d, ".") || strings.HasSuffix(d, ".") {
				t.Errorf("accepted %q", d)
			}
		}
		if len(out) == 2 && out[0] == out[1] {
			t.Errorf("duplicate %q", out[0])
		}
	})
}
