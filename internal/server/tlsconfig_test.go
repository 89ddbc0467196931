package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// TLS 1.2 is offered only with ECDHE and AEAD suites: a client that offers
// nothing but CBC with SHA-1 is refused, modern clients connect.
func TestTLSSuites(t *testing.T) {
	s := servertest.Start(t, server.Config{HTTPSAddr: "127.0.0.1:0"})
	addr := strings.TrimPrefix(s.Srv.TLSURL, "https://")
	roots := certPool(t, s)

	cbcSHA1 := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	}
	tests := []struct {
		name   string
		cfg    *tls.Config
		wantOK bool
	}{
		{name: "TLS 1.2, CBC-SHA1 only", cfg: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: cbcSHA1}},
		{name: "TLS 1.2, Go's defaults", cfg: &tls.Config{MaxVersion: tls.VersionTLS12}, wantOK: true},
		{name: "TLS 1.2, ChaCha20-Poly1305", cfg: &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, wantOK: true},
		{name: "TLS 1.3", cfg: &tls.Config{MinVersion: tls.VersionTLS13}, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg.Clone()
			cfg.RootCAs, cfg.ServerName = roots, "localhost"
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
			if err == nil {
				st := c.ConnectionState()
				c.Close()
				if !tt.wantOK {
					t.Fatalf("handshake succeeded with %s over %s", tls.CipherSuiteName(st.CipherSuite), tls.VersionName(st.Version))
				}
				return
			}
			if tt.wantOK {
				t.Fatalf("handshake: %v", err)
			}
		})
	}
}

// certPool trusts s's self-signed certificate.
func certPool(t *testing.T, s *servertest.Server) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(s.Cfg.DataDir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	return roots
}
