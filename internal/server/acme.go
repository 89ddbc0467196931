package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
	"golang.org/x/net/idna"
	"golang.org/x/time/rate"
)

// ACMEConfig makes the HTTPS listener get its certificates from an ACME CA
// (Let's Encrypt unless Directory says otherwise) for Domains, with
// golang.org/x/crypto/acme/autocert. Certificates and the account key are
// kept in <data>/acme, so a restart asks the CA for nothing; each is renewed
// in the background when a third of its lifetime is left (at most 30 days
// before it expires). Names not in Domains get the self-signed certificate.
type ACMEConfig struct {
	Domains   []string // the names to get certificates for; none: ACME is off
	Email     string   // the account's contact, for the CA's expiry and problem notices
	Directory string   // the CA's directory URL; "": DefaultACMEDirectory
	// CAFile holds PEM certificates trusted, besides the system's, for the
	// HTTPS connection to Directory: a test CA such as Pebble.
	CAFile string
}

// DefaultACMEDirectory is Let's Encrypt's production directory, which
// ACMEConfig.Directory defaults to.
const DefaultACMEDirectory = autocert.DefaultACMEDirectory

// ErrTLSAndACME is Start's error when Config has both certificate files and
// ACME domains: the certificate would have two sources.
var ErrTLSAndACME = errors.New("TLS: certificate files and ACME domains are mutually exclusive: give one or the other")

// checkACME refuses an ACME configuration herald cannot serve and
// normalises its domains.
func checkACME(cfg *Config) error {
	a := &cfg.ACME
	if len(a.Domains) == 0 {
		if a.Email != "" || a.Directory != "" || a.CAFile != "" {
			return errors.New("ACME: an email, directory or CA file but no domains to get certificates for")
		}
		return nil
	}
	if cfg.TLSCertFile != "" || cfg.TLSKeyFile != "" {
		return ErrTLSAndACME
	}
	if cfg.HTTPSAddr == "" {
		return errors.New("ACME: domains but no HTTPS listener to serve their certificates")
	}
	domains, err := parseACMEDomains(a.Domains)
	if err != nil {
		return err
	}
	a.Domains = domains
	return nil
}

// acmeDirName is the cache directory under the data directory.
const acmeDirName = "acme"

// acmeChallengePath is where HTTP-01 challenge responses are served.
const acmeChallengePath = "/.well-known/acme-challenge/"

// acmeCerts serves the HTTPS listener's certificates: ACME's for its
// domains, the self-signed pair (fallback) for every other name, so that
// https://127.0.0.1 and local tools that trust <data>/tls/cert.pem keep
// working, and no handshake for an arbitrary name makes herald ask the CA.
//
// Ownership: autocert's Manager owns issuance, its cache and the renewal
// timers, which it has no way to stop; close instead cancels every request
// to the CA (stop), so that work after close ends at its next round trip
// and writes nothing. wg counts the obtain goroutines started by start.
type acmeCerts struct {
	m        *autocert.Manager
	domains  map[string]bool
	list     []string // domains, in the order given
	fallback *certStore
	log      *slog.Logger
	warn     rate.Sometimes // one failed-handshake line a minute
	tr       *http.Transport

	stop context.Context
	halt context.CancelFunc
	wg   sync.WaitGroup
}

// newACMECerts prepares ACME for cfg (Domains already parsed) with its
// cache under dataDir; it talks to the CA only once start is called or a
// handshake asks for a certificate.
func newACMECerts(cfg ACMEConfig, dataDir string, fallback *certStore, log *slog.Logger) (*acmeCerts, error) {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
	}
	if cfg.CAFile != "" {
		pool, err := certPoolWith(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	dir := cfg.Directory
	if dir == "" {
		dir = DefaultACMEDirectory
	}
	stop, halt := context.WithCancel(context.Background())
	a := &acmeCerts{
		domains:  make(map[string]bool, len(cfg.Domains)),
		list:     cfg.Domains,
		fallback: fallback,
		log:      log,
		warn:     rate.Sometimes{Interval: time.Minute},
		tr:       tr,
		stop:     stop,
		halt:     halt,
	}
	for _, d := range cfg.Domains {
		a.domains[d] = true
	}
	a.m = &autocert.Manager{
		// Naming a domain is the operator's consent to the CA's terms.
		Prompt:     autocert.AcceptTOS,
		Cache:      &acmeCache{DirCache: autocert.DirCache(filepath.Join(dataDir, acmeDirName)), log: log},
		HostPolicy: a.hostPolicy,
		Email:      cfg.Email,
		Client: &acme.Client{
			DirectoryURL: dir,
			UserAgent:    "herald",
			HTTPClient:   &http.Client{Transport: &stoppableTransport{base: tr, stop: stop}, Timeout: time.Minute},
		},
	}
	// Called once so that autocert offers http-01 as well as tls-alpn-01;
	// the handler itself is taken again by httpHandler.
	a.m.HTTPHandler(nil)
	return a, nil
}

// certPoolWith is the system's roots plus the PEM certificates in path.
func certPoolWith(path string) (*x509.CertPool, error) {
	pemData, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ACME: read CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("ACME: CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}

// configure makes cfg serve ACME's certificates and answer TLS-ALPN-01
// challenges: a validator offers only the acme-tls/1 protocol, and a
// handshake without a protocol in common fails.
func (a *acmeCerts) configure(cfg *tls.Config) {
	cfg.GetCertificate = a.getCertificate
	cfg.NextProtos = append(cfg.NextProtos, acme.ALPNProto)
}

// getCertificate is tls.Config.GetCertificate.
func (a *acmeCerts) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name, ok := a.ours(hello.ServerName)
	if !ok {
		if isALPNChallenge(hello) {
			return nil, fmt.Errorf("ACME: no challenge for %q: not one of the ACME domains", hello.ServerName)
		}
		return a.fallback.getCertificate(hello)
	}
	cert, err := a.m.GetCertificate(hello)
	if err != nil && !isALPNChallenge(hello) {
		a.warn.Do(func() {
			a.log.Warn("ACME: no certificate for a handshake (at most one such line a minute)", "domain", name, "err", err)
		})
	}
	return cert, err
}

// isALPNChallenge reports whether hello is a TLS-ALPN-01 validation.
func isALPNChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
}

// ours returns host (a server name or a Host header, with or without a
// port) in the form the domains are kept in, and whether it is one of them.
func (a *acmeCerts) ours(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	name, err := idna.Lookup.ToASCII(strings.TrimSuffix(host, "."))
	if err != nil {
		return host, false
	}
	return name, a.domains[name]
}

// hostPolicy is autocert's HostPolicy: a second guard behind ours, for
// names that reach the Manager another way (HTTP-01 requests).
func (a *acmeCerts) hostPolicy(_ context.Context, host string) error {
	if _, ok := a.ours(host); !ok {
		return fmt.Errorf("ACME: %q is not one of the ACME domains", host)
	}
	return nil
}

// httpHandler answers HTTP-01 challenges for the ACME domains on plain
// HTTP connections (both listeners) and passes every other request to next.
func (a *acmeCerts) httpHandler(next http.Handler) http.Handler {
	challenge := a.m.HTTPHandler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := a.ours(r.Host); ok && r.TLS == nil && strings.HasPrefix(r.URL.Path, acmeChallengePath) {
			challenge.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// start gets each domain's certificate in the background (from the cache,
// or from the CA through a challenge on the listeners, which must be
// serving), so that the first client does not wait for it.
func (a *acmeCerts) start() {
	for _, d := range a.list {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			// As an ECDSA-capable client asks: the certificate most clients get.
			hello := &tls.ClientHelloInfo{ServerName: d, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
			cert, err := a.m.GetCertificate(hello)
			switch {
			case a.stop.Err() != nil:
			case err != nil:
				a.log.Error("ACME: could not get a certificate; handshakes for it fail for a minute, then the next one tries again", "domain", d, "err", err)
			default:
				a.log.Info("ACME certificate ready", "domain", d, "not_after", cert.Leaf.NotAfter, "sha256", CertFingerprint(*cert))
			}
		}()
	}
}

// close cancels every request to the CA and waits for start's goroutines.
func (a *acmeCerts) close() {
	a.halt()
	a.wg.Wait()
	a.tr.CloseIdleConnections()
}

// stoppableTransport sends requests to the CA until stop is done, then
// cancels those in flight and refuses new ones.
type stoppableTransport struct {
	base http.RoundTripper
	stop context.Context
}

func (t *stoppableTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(r.Context())
	unhook := context.AfterFunc(t.stop, cancel)
	release := func() { unhook(); cancel() }
	res, err := t.base.RoundTrip(r.WithContext(ctx))
	if err != nil {
		release()
		return nil, err
	}
	res.Body = &releasingBody{ReadCloser: res.Body, release: release}
	return res, nil
}

// releasingBody releases its request's context when closed.
type releasingBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

// acmeCache is autocert's directory cache, logging each certificate it
// stores: the only sign of a renewal, which autocert does silently.
type acmeCache struct {
	autocert.DirCache
	log *slog.Logger
}

func (c *acmeCache) Put(ctx context.Context, key string, data []byte) error {
	// Not ctx: DirCache skips the write, and reports success, when ctx ends
	// during it, and a certificate the CA issued would then be ordered
	// again at the next start. A local file write needs no cancelling.
	if err := c.DirCache.Put(context.WithoutCancel(ctx), key, data); err != nil {
		c.log.Error("ACME: could not store in the cache", "key", key, "err", err)
		return err
	}
	if leaf := leafOf(data); leaf != nil && !strings.HasSuffix(key, "+token") {
		c.log.Info("ACME certificate stored", "key", key, "not_after", leaf.NotAfter, "issuer", leaf.Issuer.String())
	}
	return nil
}

// leafOf is the first certificate of autocert's cache entry (a key, then
// the chain), or nil.
func leafOf(data []byte) *x509.Certificate {
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return nil
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil
			}
			return c
		}
	}
}

// parseACMEDomains checks and normalises the ACME domain names: lower case
// ASCII (IDNA), no trailing dot, duplicates removed, the order kept.
func parseACMEDomains(in []string) ([]string, error) {
	var out []string
	seen := make(map[string]bool, len(in))
	for _, raw := range in {
		d := strings.TrimSuffix(strings.TrimSpace(raw), ".")
		switch {
		case d == "":
			return nil, errors.New("ACME: an empty domain name")
		case strings.Contains(d, "*"):
			return nil, fmt.Errorf("ACME: %q: wildcard names need the DNS-01 challenge, which herald does not answer; name each host", raw)
		case net.ParseIP(strings.Trim(d, "[]")) != nil:
			return nil, fmt.Errorf("ACME: %q is an IP address; give a DNS name", raw)
		}
		name, err := idna.Lookup.ToASCII(d)
		if err == nil {
			// A handshake's server name is looked up the same way (ours),
			// and must come out as the same name: some input maps to
			// Punycode that does not look up again.
			if again, aerr := idna.Lookup.ToASCII(name); aerr != nil || again != name {
				err = fmt.Errorf("not stable under IDNA lookup (%v)", aerr)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("ACME: %q is not a valid domain name: %w", raw, err)
		}
		if !strings.Contains(name, ".") || len(name) > 253 {
			return nil, fmt.Errorf("ACME: %q: want a fully qualified name such as herald.example.com", raw)
		}
		for _, label := range strings.Split(name, ".") {
			if label == "" || len(label) > 63 {
				return nil, fmt.Errorf("ACME: %q: each dot-separated part must have 1 to 63 characters", raw)
			}
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}
