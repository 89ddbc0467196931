package acmetest

import (
	"crypto/x509"
	"encoding/pem"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/herald-io/herald/internal/logtest"
	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"
)

// pebble is Pebble's ACME server in this process: its web front end on a
// loopback HTTPS port, its CA, and its validation authority (VA), which
// validates challenges by connecting to the domain, resolved by a DNS
// server of the test's that answers 127.0.0.1 for every name.
//
// The VA must know the ports it validates on when it is made, and herald
// picks its ports when it starts, after it was told the directory URL. So
// the front end is up first, with every request held back until open has
// made the VA and the rest for the ports herald got.
type pebble struct {
	Directory string // the directory URL, for server.ACMEConfig
	CAFile    string // the front end's HTTPS certificate, for ACMEConfig.CAFile
	Roots     *x509.CertPool

	t       *testing.T
	front   *httptest.Server
	dnsAddr string
	logs    *logtest.Buffer
	orders  atomic.Int64
	chals   atomic.Int64
	ready   chan struct{}
	handler http.Handler // set by open before ready is closed
	// validity of the certificates issued, in seconds (0: Pebble's 90 days)
	validity uint64
}

// newPebble starts the front end and the DNS server; call open next.
func newPebble(t *testing.T, validity uint64) *pebble {
	t.Helper()
	// The VA waits up to 15 s before each validation, as a real CA may; a
	// test has no reason to. (PEBBLE_VA_ALWAYS_VALID stays unset: every
	// challenge is validated for real.)
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	// Pebble reuses a valid authorization for half of the orders by
	// default; a renewal must prove control of the name again here.
	t.Setenv("PEBBLE_AUTHZREUSE", "0")
	p := &pebble{t: t, logs: &logtest.Buffer{}, ready: make(chan struct{}), validity: validity}
	p.dnsAddr = startDNS(t)
	p.front = httptest.NewTLSServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.front.Close)
	p.Directory = p.front.URL + wfe.DirectoryPath
	p.CAFile = filepath.Join(t.TempDir(), "pebble-front.pem")
	front := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.front.Certificate().Raw})
	if err := os.WriteFile(p.CAFile, front, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pebble's log:\n%s", p.logs.String())
		}
	})
	return p
}

// open makes the VA validate HTTP-01 on httpPort and TLS-ALPN-01 on
// tlsPort, and lets requests through.
func (p *pebble) open(httpPort, tlsPort int) {
	logger := log.New(p.logs, "pebble ", log.Lmicroseconds)
	store := db.NewMemoryStore()
	profiles := map[string]ca.Profile{"default": {Description: "herald's test", ValidityPeriod: p.validity}}
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, profiles)
	validator := va.New(logger, httpPort, tlsPort, false, p.dnsAddr, store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	p.Roots = x509.NewCertPool()
	p.Roots.AddCert(authority.GetRootCert(0).Cert)
	p.handler = front.Handler()
	close(p.ready)
}

// serve holds requests until open, and counts orders and challenges.
func (p *pebble) serve(w http.ResponseWriter, r *http.Request) {
	select {
	case <-p.ready:
	case <-r.Context().Done():
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	p.handler.ServeHTTP(rec, r)
	// Counted once answered, not when asked: Pebble refuses a few good
	// nonces on purpose, and the client sends those requests again.
	switch {
	case r.Method != http.MethodPost || rec.status >= 300:
	case r.URL.Path == "/order-plz":
		p.orders.Add(1)
	case strings.HasPrefix(r.URL.Path, "/chalZ/"):
		p.chals.Add(1)
	}
}

// statusRecorder remembers the status of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Orders is the number of orders Pebble has made.
func (p *pebble) Orders() int64 { return p.orders.Load() }

// Challenges is the number of challenges Pebble was asked to validate.
func (p *pebble) Challenges() int64 { return p.chals.Load() }

// Port is the front end's port: plain HTTP to it gets an error, so a VA
// pointed at it fails that challenge.
func (p *pebble) Port() int { return p.front.Listener.Addr().(*net.TCPAddr).Port }

// startDNS serves DNS over TCP (as Pebble's VA asks) on a loopback port
// and returns its address: A 127.0.0.1 for every name, no AAAA.
func startDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	done := make(chan error, 1)
	go func() { done <- srv.ActivateAndServe() }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("dns server: %v", err)
	}
	t.Cleanup(func() {
		_ = srv.Shutdown()
		<-done
	})
	return ln.Addr().String()
}
