package server

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateCertCreatesFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreateCert(dir, nil); err != nil {
		t.Fatalf("LoadOrCreateCert: %v", err)
	}

	tests := []struct {
		path string
		dir  bool
		mode fs.FileMode
	}{
		{path: "tls", dir: true, mode: 0o700},
		{path: "tls/cert.pem", mode: 0o644},
		{path: "tls/key.pem", mode: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			st, err := os.Stat(filepath.Join(dir, tt.path))
			if err != nil {
				t.Fatal(err)
			}
			if st.IsDir() != tt.dir {
				t.Errorf("IsDir = %v, want %v", st.IsDir(), tt.dir)
			}
			if got := st.Mode().Perm(); got != tt.mode {
				t.Errorf("mode = %#o, want %#o", got, tt.mode)
			}
		})
	}
}

func TestLoadOrCreateCertContents(t *testing.T) {
	extra := []string{"herald.example", "192.0.2.7", " ", "[2001:db8::1]", "LOCALHOST"}
	start := time.Now()
	cert, err := LoadOrCreateCert(t.TempDir(), extra)
	if err != nil {
		t.Fatalf("LoadOrCreateCert: %v", err)
	}
	leaf := certLeaf(t, cert)

	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key = %T, want ECDSA P-256", leaf.PublicKey)
	}
	if leaf.SerialNumber.Sign() <= 0 {
		t.Errorf("serial number %v is not positive", leaf.SerialNumber)
	}
	if wantAfter := start.AddDate(10, 0, 0); leaf.NotAfter.Before(wantAfter.Add(-72*time.Hour)) || leaf.NotAfter.After(wantAfter.Add(time.Hour)) {
		t.Errorf("NotAfter = %v, want about %v", leaf.NotAfter, wantAfter)
	}
	if leaf.NotBefore.After(start) {
		t.Errorf("NotBefore = %v, after creation time %v", leaf.NotBefore, start)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("KeyUsage = %v, want digital signature only", leaf.KeyUsage)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ExtKeyUsage = %v, want server auth", leaf.ExtKeyUsage)
	}
	if leaf.IsCA {
		t.Error("certificate is a CA")
	}

	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := certCountFold(leaf.DNSNames, "localhost"), 1; got != want {
		t.Errorf("DNSNames %v hold localhost %d times, want %d", leaf.DNSNames, got, want)
	}

	// Verify each name the way a client does, against a pool holding only
	// this certificate, so a missing SAN or an unusable chain both fail.
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, name := range []string{"localhost", "127.0.0.1", "::1", hostname, "herald.example", "192.0.2.7", "2001:db8::1"} {
		t.Run(name, func(t *testing.T) {
			_, err := leaf.Verify(x509.VerifyOptions{
				DNSName:   name,
				Roots:     roots,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				t.Errorf("Verify(%q): %v", name, err)
			}
		})
	}
	if err := leaf.VerifyHostname("other.example"); err == nil {
		t.Error("certificate is valid for other.example")
	}
}

func TestLoadOrCreateCertReusesPair(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateCert(dir, []string{"a.example"})
	if err != nil {
		t.Fatalf("first LoadOrCreateCert: %v", err)
	}
	certPEM := certReadFile(t, filepath.Join(dir, "tls", "cert.pem"))
	keyPEM := certReadFile(t, filepath.Join(dir, "tls", "key.pem"))

	// Different hosts on the second start must not regenerate the pair.
	second, err := LoadOrCreateCert(dir, []string{"b.example"})
	if err != nil {
		t.Fatalf("second LoadOrCreateCert: %v", err)
	}
	if !bytes.Equal(first.Certificate[0], second.Certificate[0]) {
		t.Error("second call returned a different certificate")
	}
	if CertFingerprint(first) != CertFingerprint(second) {
		t.Error("fingerprints differ")
	}
	if !bytes.Equal(certPEM, certReadFile(t, filepath.Join(dir, "tls", "cert.pem"))) ||
		!bytes.Equal(keyPEM, certReadFile(t, filepath.Join(dir, "tls", "key.pem"))) {
		t.Error("second call rewrote the files")
	}

	// Another directory gets its own certificate and serial.
	other, err := LoadOrCreateCert(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if certLeaf(t, first).SerialNumber.Cmp(certLeaf(t, other).SerialNumber) == 0 {
		t.Error("two generated certificates share a serial number")
	}
}

func TestLoadOrCreateCertErrors(t *testing.T) {
	// A valid pair from another directory provides a mismatched key.
	donor := t.TempDir()
	if _, err := LoadOrCreateCert(donor, nil); err != nil {
		t.Fatal(err)
	}
	otherKey := certReadFile(t, filepath.Join(donor, "tls", "key.pem"))

	tests := []struct {
		name    string
		prepare func(t *testing.T, tlsDir string) // runs after a pair was generated
		wantErr string
	}{
		{
			name:    "cert only",
			prepare: func(t *testing.T, d string) { certRemoveFile(t, filepath.Join(d, "key.pem")) },
			wantErr: "key.pem does not",
		},
		{
			name:    "key only",
			prepare: func(t *testing.T, d string) { certRemoveFile(t, filepath.Join(d, "cert.pem")) },
			wantErr: "cert.pem does not",
		},
		{
			name: "corrupt cert",
			prepare: func(t *testing.T, d string) {
				certWriteFile(t, filepath.Join(d, "cert.pem"), []byte("not a certificate\n"))
			},
			wantErr: "load TLS certificate",
		},
		{
			name: "corrupt key",
			prepare: func(t *testing.T, d string) {
				certWriteFile(t, filepath.Join(d, "key.pem"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
			},
			wantErr: "load TLS certificate",
		},
		{
			name:    "empty cert",
			prepare: func(t *testing.T, d string) { certWriteFile(t, filepath.Join(d, "cert.pem"), nil) },
			wantErr: "load TLS certificate",
		},
		{
			name:    "mismatched key",
			prepare: func(t *testing.T, d string) { certWriteFile(t, filepath.Join(d, "key.pem"), otherKey) },
			wantErr: "load TLS certificate",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := LoadOrCreateCert(dir, nil); err != nil {
				t.Fatal(err)
			}
			tlsDir := filepath.Join(dir, "tls")
			tt.prepare(t, tlsDir)
			before := certSnapshotDir(t, tlsDir)

			_, err := LoadOrCreateCert(dir, nil)
			if err == nil {
				t.Fatal("LoadOrCreateCert succeeded, want error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if after := certSnapshotDir(t, tlsDir); !maps.EqualFunc(before, after, bytes.Equal) {
				t.Error("LoadOrCreateCert changed the files after failing")
			}
		})
	}
}

func TestLoadOrCreateCertDirIsFile(t *testing.T) {
	dir := t.TempDir()
	certWriteFile(t, filepath.Join(dir, "tls"), []byte("in the way"))
	if _, err := LoadOrCreateCert(dir, nil); err == nil {
		t.Fatal("LoadOrCreateCert succeeded with dir/tls a regular file")
	}
}

func TestCertFingerprint(t *testing.T) {
	cert, err := LoadOrCreateCert(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Certificate[0])

	tests := []struct {
		name string
		cert tls.Certificate
		want string
	}{
		{name: "generated", cert: cert, want: hex.EncodeToString(sum[:])},
		{name: "empty", cert: tls.Certificate{}, want: ""},
	}
	format := regexp.MustCompile(`^([0-9a-f]{2}:){31}[0-9a-f]{2}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CertFingerprint(tt.cert)
			if strings.ReplaceAll(got, ":", "") != tt.want {
				t.Errorf("CertFingerprint = %q, want the bytes of %q", got, tt.want)
			}
			if tt.want != "" && !format.MatchString(got) {
				t.Errorf("CertFingerprint = %q, want 32 lowercase hex bytes joined by colons", got)
			}
		})
	}
}

// certLeaf returns c's parsed leaf certificate.
func certLeaf(t *testing.T, c tls.Certificate) *x509.Certificate {
	t.Helper()
	if c.Leaf != nil {
		return c.Leaf
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatalf("parse leaf: %v", err)
	}
	return leaf
}

func certCountFold(list []string, s string) int {
	n := 0
	for _, x := range list {
		if strings.EqualFold(x, s) {
			n++
		}
	}
	return n
}

func certReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func certWriteFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func certRemoveFile(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}

// snapshotDir returns the contents of every file in dir by name.
func certSnapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string][]byte, len(entries))
	for _, e := range entries {
		m[e.Name()] = certReadFile(t, filepath.Join(dir, e.Name()))
	}
	return m
}
