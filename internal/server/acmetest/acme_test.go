package acmetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/logtest"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// domain is the name herald gets certificates for; the test's DNS server
// resolves it (and every other name) to 127.0.0.1. autocert wants at least
// two labels, so "localhost" would not do.
const domain = "herald.test"

// herald is a server under test with ACME on, and the Pebble it asks.
type herald struct {
	*servertest.Server
	pebble *pebble
	logs   *logtest.Buffer
}

// startHerald starts herald with ACME for domain against p and then opens
// p, its VA validating on the ports ports picks from herald's.
func startHerald(t *testing.T, p *pebble, ports func(httpPort, tlsPort int) (int, int)) *herald {
	t.Helper()
	logs, logger := logtest.New()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("herald's log:\n%s", logs.String())
		}
	})
	s := servertest.Start(t, server.Config{
		HTTPSAddr: "127.0.0.1:0",
		Logger:    logger,
		ACME:      server.ACMEConfig{Domains: []string{domain}, Email: "ops@herald.test", Directory: p.Directory, CAFile: p.CAFile},
	})
	// Pin the HTTPS port too (servertest pins the HTTP one): the VA knows
	// it, and a restart must keep it.
	s.Cfg.HTTPSAddr = hostPort(t, s.Srv.TLSURL)
	p.open(ports(port(t, s.Cfg.HTTPAddr), port(t, s.Cfg.HTTPSAddr)))
	return &herald{Server: s, pebble: p, logs: logs}
}

// handshake connects to herald's HTTPS port asking for serverName and
// returns what it was served. With roots it verifies the chain for
// serverName, as a client trusting Pebble's root does; without, it checks
// nothing. The first handshake for an ACME domain waits while herald gets
// the certificate.
func (h *herald) handshake(serverName string, roots *x509.CertPool, protos ...string) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	cfg := &tls.Config{ServerName: serverName, RootCAs: roots, InsecureSkipVerify: roots == nil, NextProtos: protos}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", h.Cfg.HTTPSAddr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState(), nil
}

// served is the verified chain herald serves for domain. The first
// handshake has herald order the certificate and waits for it; on a busy
// machine the order (Pebble refuses some nonces on purpose, autocert backs
// off while it polls) can outlast herald's 10 s handshake limit, and then,
// as a browser would, the test asks again.
func (h *herald) served() *x509.Certificate {
	h.T.Helper()
	var cs tls.ConnectionState
	var err error
	for range 3 {
		if cs, err = h.handshake(domain, h.pebble.Roots); err == nil {
			break
		}
	}
	if err != nil {
		h.T.Fatalf("handshake for %s, trusting Pebble's root: %v", domain, err)
	}
	if len(cs.PeerCertificates) < 2 {
		h.T.Fatalf("herald served %d certificates; want the leaf and Pebble's intermediate", len(cs.PeerCertificates))
	}
	return cs.PeerCertificates[0]
}

// TestACMEChallenges: herald gets a certificate from Pebble through each
// challenge, on each listener that answers it, and serves it with its
// chain. In each case the VA's other port answers nothing useful, so the
// certificate proves the challenge named.
func TestACMEChallenges(t *testing.T) {
	cases := []struct {
		name string
		// ports are the VA's (HTTP-01, TLS-ALPN-01) from herald's plain
		// HTTP listener's and its HTTPS (plus plain HTTP) port, and Pebble's.
		ports func(plain, https, pebble int) (int, int)
		// orders: autocert tries TLS-ALPN-01 first and makes a new order
		// for HTTP-01 when it fails.
		orders int64
	}{
		{"tls-alpn-01 through the sniffing HTTPS port",
			func(plain, https, pebble int) (int, int) { return pebble, https }, 1},
		{"http-01 on the plain HTTP listener",
			func(plain, https, pebble int) (int, int) { return plain, plain }, 2},
		{"http-01 on the HTTPS port's plain side",
			func(plain, https, pebble int) (int, int) { return https, plain }, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newPebble(t, 0)
			h := startHerald(t, p, func(plain, https int) (int, int) { return c.ports(plain, https, p.Port()) })
			leaf := h.served()
			if err := leaf.VerifyHostname(domain); err != nil {
				t.Fatal(err)
			}
			if got := p.Orders(); got != c.orders {
				t.Errorf("Pebble got %d orders; want %d", got, c.orders)
			}
		})
	}
}

// TestACMECache: a restart serves the certificate from <data>/acme and asks
// Pebble for nothing new.
func TestACMECache(t *testing.T) {
	p := newPebble(t, 0)
	h := startHerald(t, p, func(plain, https int) (int, int) { return plain, https })
	first := h.served()
	orders := p.Orders()
	if orders == 0 {
		t.Fatal("Pebble got no order")
	}
	// The handshake may be served before autocert's cache write of the
	// same certificate has ended (its "stored" log line follows the write).
	h.logs.Wait(t, "ACME certificate stored", func(map[string]any) bool { return true })
	if _, err := os.Stat(filepath.Join(h.Cfg.DataDir, "acme", domain)); err != nil {
		t.Fatalf("the certificate is not in the cache: %v", err)
	}

	h.Restart()
	again := h.served()
	if !again.Equal(first) {
		t.Errorf("after a restart herald serves serial %s; want the cached %s", again.SerialNumber, first.SerialNumber)
	}
	// Its start-up obtain has run by now: the handshake waited for it, or
	// it found the certificate the handshake put in place.
	h.logs.Wait(t, "ACME certificate ready", func(map[string]any) bool { return true })
	if got := p.Orders(); got != orders {
		t.Errorf("after a restart Pebble got %d orders; want still %d", got, orders)
	}
}

// TestACMERenewal: a certificate that is two thirds through its life is
// renewed in the background, through a challenge again, and the new one is
// served and cached. Pebble issues 30-second certificates here: autocert
// renews 20 s in, and an issuance takes a few seconds of the client's
// polling.
func TestACMERenewal(t *testing.T) {
	p := newPebble(t, 30)
	h := startHerald(t, p, func(plain, https int) (int, int) { return plain, https })
	first := h.served()

	deadline := time.Now().Add(time.Minute)
	var renewed *x509.Certificate
	for renewed == nil {
		if time.Now().After(deadline) {
			t.Fatalf("still serving serial %s (not after %s) at %s", first.SerialNumber, first.NotAfter, time.Now())
		}
		time.Sleep(200 * time.Millisecond)
		if leaf := h.served(); !leaf.Equal(first) {
			renewed = leaf
		}
	}
	if !renewed.NotAfter.After(first.NotAfter) {
		t.Errorf("renewed certificate expires %s, not after the first's %s", renewed.NotAfter, first.NotAfter)
	}
	if got := p.Orders(); got < 2 {
		t.Errorf("Pebble got %d orders; a renewal makes a second", got)
	}
	if got := p.Challenges(); got < 2 {
		t.Errorf("Pebble validated %d challenges; a renewal answers a second", got)
	}
	cached := cachedLeaf(t, filepath.Join(h.Cfg.DataDir, "acme", domain))
	if cached.NotBefore.Before(renewed.NotBefore) {
		t.Errorf("the cache holds a certificate from %s, older than the renewed one (%s)", cached.NotBefore, renewed.NotBefore)
	}
	if n := len(h.logs.Records(t, "ACME certificate stored")); n < 2 {
		t.Errorf("%d \"ACME certificate stored\" lines; want one for the first certificate and one a renewal", n)
	}
}

// TestACMEOtherNames: a name not among the ACME domains, or none (a client
// dialling the address), gets the self-signed certificate and makes herald
// ask Pebble for nothing; a TLS-ALPN-01 validation for such a name fails.
func TestACMEOtherNames(t *testing.T) {
	p := newPebble(t, 0)
	h := startHerald(t, p, func(plain, https int) (int, int) { return plain, https })
	h.served()
	orders := p.Orders()

	for _, name := range []string{"other.test", "", "localhost"} {
		cs, err := h.handshake(name, nil)
		if err != nil {
			t.Fatalf("handshake for %q: %v", name, err)
		}
		fp := server.CertFingerprint(tls.Certificate{Certificate: [][]byte{cs.PeerCertificates[0].Raw}})
		if fp != h.Srv.CertFingerprint() {
			t.Errorf("for %q herald served %s (issuer %s); want the self-signed certificate %s",
				name, fp, cs.PeerCertificates[0].Issuer, h.Srv.CertFingerprint())
		}
	}
	if got := p.Orders(); got != orders {
		t.Errorf("Pebble got %d orders; the other names should have made none (want %d)", got, orders)
	}

	if _, err := h.handshake("other.test", nil, "acme-tls/1"); err == nil {
		t.Error("a TLS-ALPN-01 handshake for a name not among the domains succeeded; want it refused")
	}
	// acme-tls/1 is offered to validators only: an ordinary client is
	// served HTTP as before.
	cs, err := h.handshake(domain, p.Roots, "h2", "http/1.1")
	if err != nil || cs.NegotiatedProtocol != "h2" {
		t.Errorf("an ordinary client negotiated %q, %v; want h2", cs.NegotiatedProtocol, err)
	}
}

// cachedLeaf is the certificate of autocert's cache entry at path.
func cachedLeaf(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			t.Fatalf("no certificate in %s", path)
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
}

func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	// The server's URLs say localhost for what it listens on; the VA and
	// the clients use the address.
	_, p, _ := net.SplitHostPort(u.Host)
	return net.JoinHostPort("127.0.0.1", p)
}

func port(t *testing.T, hostport string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
