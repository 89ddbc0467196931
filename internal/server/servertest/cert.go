package servertest

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
	"testing"
	"time"
)

// CA is a certificate authority for tests: it issues server certificates
// through an intermediate, so the files hold a chain as a real CA's do.
type CA struct {
	Pool              *x509.CertPool // trusts the root
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
}

// NewCA makes a root and an intermediate.
func NewCA(t testing.TB) *CA {
	t.Helper()
	ca := &CA{}
	ca.root, ca.rootKey = issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "test root"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	ca.inter, ca.interKey = issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "test intermediate"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, ca.root, ca.rootKey)
	ca.Pool = x509.NewCertPool()
	ca.Pool.AddCert(ca.root)
	return ca
}

// Issue makes a server certificate for localhost and 127.0.0.1 named cn
// and returns the chain (leaf, intermediate) and the key, PEM-encoded.
func (ca *CA) Issue(t testing.TB, cn string) (chain, key []byte) {
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

// WritePair issues a certificate named cn and puts it and its key in
// place of the files at certPath and keyPath.
func (ca *CA) WritePair(t testing.TB, certPath, keyPath, cn string) {
	t.Helper()
	chain, key := ca.Issue(t, cn)
	ReplaceFile(t, keyPath, key)
	ReplaceFile(t, certPath, chain)
}

// ServedCN makes a new TLS handshake with addr, verifying the chain
// against the CA, and returns the leaf's common name and the chain's length.
func (ca *CA) ServedCN(t testing.TB, addr string) (string, int) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: ca.Pool, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer c.Close()
	certs := c.ConnectionState().PeerCertificates
	return certs[0].Subject.CommonName, len(certs)
}

// ReplaceFile writes data to path the way deployment tools do: a new file
// renamed over the old one.
func ReplaceFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// issue signs tmpl with parent (itself when parent is nil).
func issue(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
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
