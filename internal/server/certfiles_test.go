package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// testCA is a certificate authority for tests: it issues leaf certificates
// through an intermediate, so the files hold a chain as a real CA's do.
type testCA struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
	pool              *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	ca := &testCA{}
	ca.root, ca.rootKey = issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "test root"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	ca.inter, ca.interKey = issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "test intermediate"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, ca.root, ca.rootKey)
	ca.pool = x509.NewCertPool()
	ca.pool.AddCert(ca.root)
	return ca
}

// issue signs tmpl with parent (itself when parent is nil).
func issue(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// leafPEM issues a server certificate for localhost named cn and returns
// the chain (leaf, intermediate) and the key, PEM-encoded.
func (ca *testCA) leafPEM(t *testing.T, cn string) (chain, key []byte) {
	t.Helper()
	leaf, k := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: cn}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca.inter, ca.interKey)
	chain = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.inter.Raw})...)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return chain, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// replaceFile writes data to path the way deployment tools do: a new file
// renamed over the old one.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// servedCN makes a new TLS handshake with the server, verifying the chain
// against the CA, and returns the leaf's common name and the chain's length.
func servedCN(t *testing.T, addr string, ca *testCA) (string, int) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: ca.pool, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	certs := c.ConnectionState().PeerCertificates
	return certs[0].Subject.CommonName, len(certs)
}

// startWithCertFiles starts a server that serves the pair in dir (first
// issued as cn), polling the files every reloadEvery.
func startWithCertFiles(t *testing.T, ca *testCA, cn string, reloadEvery time.Duration) (s *servertest.Server, certPath, keyPath string) {
	t.Helper()
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	chain, key := ca.leafPEM(t, cn)
	replaceFile(t, certPath, chain)
	replaceFile(t, keyPath, key)
	s = servertest.Start(t, server.Config{
		HTTPSAddr: "127.0.0.1:0", TLSCertFile: certPath, TLSKeyFile: keyPath, TLSReloadEvery: reloadEvery,
	})
	return s, certPath, keyPath
}

// The certificate files are served, chain included, instead of the
// self-signed certificate; replaced files are picked up by the next
// handshakes without a restart.
func TestTLSFromFilesReloadsWhenTheyChange(t *testing.T) {
	ca := newTestCA(t)
	s, certPath, keyPath := startWithCertFiles(t, ca, "first", 20*time.Millisecond)
	addr := strings.TrimPrefix(s.Srv.TLSURL, "https://")

	if cn, n := servedCN(t, addr, ca); cn != "first" || n != 2 {
		t.Fatalf("served %q with a chain of %d; want \"first\" with its intermediate (2)", cn, n)
	}
	if _, err := os.Stat(filepath.Join(s.Cfg.DataDir, "tls")); err == nil {
		t.Error("a self-signed pair was made although certificate files were given")
	}

	chain, key := ca.leafPEM(t, "second")
	replaceFile(t, keyPath, key)
	replaceFile(t, certPath, chain)
	deadline := time.Now().Add(20 * time.Second)
	for {
		cn, _ := servedCN(t, addr, ca)
		if cn == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still serving %q after the files were replaced", cn)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if fp := s.Srv.CertFingerprint(); fp == "" {
		t.Error("no fingerprint for the reloaded certificate")
	}
}

// A replacement that does not load (a broken certificate, a key of another
// pair) is refused: the server keeps serving the pair it had.
func TestTLSFromFilesKeepsTheOldPairOnABadReplacement(t *testing.T) {
	ca := newTestCA(t)
	// No polling: Reload is the only way the files are read again here.
	s, certPath, keyPath := startWithCertFiles(t, ca, "good", time.Hour)
	addr := strings.TrimPrefix(s.Srv.TLSURL, "https://")
	before := s.Srv.CertFingerprint()

	_, otherKey := ca.leafPEM(t, "other")
	goodChain, _ := os.ReadFile(certPath)
	for _, tt := range []struct {
		name      string
		cert, key []byte
	}{
		{"broken certificate", []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), nil},
		{"key of another pair", goodChain, otherKey},
		{"empty certificate", []byte{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			oldKey, _ := os.ReadFile(keyPath)
			replaceFile(t, certPath, tt.cert)
			if tt.key != nil {
				replaceFile(t, keyPath, tt.key)
			}
			if _, err := s.Srv.ReloadCert(); err == nil {
				t.Error("ReloadCert accepted the bad pair")
			}
			if cn, _ := servedCN(t, addr, ca); cn != "good" {
				t.Errorf("served %q after a bad replacement; want the old \"good\"", cn)
			}
			if fp := s.Srv.CertFingerprint(); fp != before {
				t.Errorf("fingerprint %s after a bad replacement; want the old %s", fp, before)
			}
			replaceFile(t, certPath, goodChain)
			replaceFile(t, keyPath, oldKey)
		})
	}

	chain, key := ca.leafPEM(t, "renewed")
	replaceFile(t, certPath, chain)
	replaceFile(t, keyPath, key)
	fp, err := s.Srv.ReloadCert()
	if err != nil {
		t.Fatalf("ReloadCert of a good pair: %v", err)
	}
	if cn, _ := servedCN(t, addr, ca); cn != "renewed" || fp == before || fp != s.Srv.CertFingerprint() {
		t.Errorf("served %q (fingerprint %s, before %s) after reloading a good pair; want \"renewed\"", cn, fp, before)
	}
}

// Files that do not load stop the start with an error naming them.
func TestTLSFromFilesRefusesABadPairAtStart(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	replaceFile(t, certPath, []byte("nonsense"))
	replaceFile(t, keyPath, []byte("nonsense"))
	_, err := server.Start(t.Context(), server.Config{
		DataDir: t.TempDir(), HTTPSAddr: "127.0.0.1:0", TLSCertFile: certPath, TLSKeyFile: keyPath,
	})
	if err == nil || !strings.Contains(err.Error(), certPath) {
		t.Fatalf("Start: %v; want an error naming %s", err, certPath)
	}
	_, err = server.Start(t.Context(), server.Config{DataDir: t.TempDir(), HTTPSAddr: "127.0.0.1:0", TLSCertFile: certPath})
	if err == nil || !strings.Contains(err.Error(), "key") {
		t.Fatalf("Start with a certificate but no key: %v; want an error saying the key is missing", err)
	}
}
