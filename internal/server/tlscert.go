package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Names and modes of the files LoadOrCreateCert keeps under its directory.
const (
	certDirName  = "tls"
	certFileName = "cert.pem"
	keyFileName  = "key.pem"

	certDirMode  fs.FileMode = 0o700
	certFileMode fs.FileMode = 0o644 // the certificate is public
	keyFileMode  fs.FileMode = 0o600 // the key is not
)

// LoadOrCreateCert returns the server's self-signed TLS certificate, kept in
// dir/tls/cert.pem and dir/tls/key.pem.
//
// On first start neither file exists, so it generates an ECDSA P-256
// certificate valid for ten years for localhost, 127.0.0.1, ::1, the
// machine's host name and hosts (each either a DNS name or an IP address),
// and writes it there. On later starts it loads the same pair and never
// regenerates it, because clients pin or trust that exact certificate; for
// the same reason hosts added later are not added to an existing
// certificate. If only one of the two files exists, or they do not load as
// a matching pair, it returns an error rather than overwriting anything: the
// operator decides whether to restore the files or delete them.
func LoadOrCreateCert(dir string, hosts []string) (tls.Certificate, error) {
	certDir := filepath.Join(dir, certDirName)
	certPath := filepath.Join(certDir, certFileName)
	keyPath := filepath.Join(certDir, keyFileName)

	certExists, err := fileExists(certPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyExists, err := fileExists(keyPath)
	if err != nil {
		return tls.Certificate{}, err
	}

	switch {
	case certExists && keyExists:
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("load TLS certificate %s and key %s (delete both to generate a new pair): %w", certPath, keyPath, err)
		}
		return cert, nil
	case certExists:
		return tls.Certificate{}, fmt.Errorf("TLS certificate %s exists but its key %s does not: restore the key, or delete the certificate to generate a new pair", certPath, keyPath)
	case keyExists:
		return tls.Certificate{}, fmt.Errorf("TLS key %s exists but its certificate %s does not: restore the certificate, or delete the key to generate a new pair", keyPath, certPath)
	}

	certPEM, keyPEM, err := generateSelfSigned(sanHosts(hosts), time.Now())
	if err != nil {
		return tls.Certificate{}, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse generated TLS certificate: %w", err)
	}

	if err := os.MkdirAll(certDir, certDirMode); err != nil {
		return tls.Certificate{}, fmt.Errorf("create TLS directory: %w", err)
	}
	// The key goes first: if writing the certificate fails we remove the key
	// again, so a failed first start does not leave a half pair behind that
	// the next start would refuse.
	if err := writeNewFile(keyPath, keyPEM, keyFileMode); err != nil {
		return tls.Certificate{}, fmt.Errorf("write TLS key: %w", err)
	}
	if err := writeNewFile(certPath, certPEM, certFileMode); err != nil {
		_ = os.Remove(keyPath)
		return tls.Certificate{}, fmt.Errorf("write TLS certificate: %w", err)
	}
	return cert, nil
}

// CertFingerprint returns the SHA-256 digest of c's leaf certificate as
// lowercase hex bytes separated by colons, the form browsers and
// "openssl x509 -fingerprint -sha256" show, so an operator can compare it
// with what a client reports. It returns "" if c holds no certificate.
func CertFingerprint(c tls.Certificate) string {
	if len(c.Certificate) == 0 {
		return ""
	}
	sum := sha256.Sum256(c.Certificate[0])
	var b strings.Builder
	b.Grow(len(sum)*3 - 1)
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(hex.EncodeToString([]byte{x}))
	}
	return b.String()
}

// sanHosts returns the names the certificate is valid for: the loopback
// names every local client uses, the machine's host name, and extra, with
// blanks and duplicates removed and the order kept.
func sanHosts(extra []string) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	// Without a host name the certificate still serves loopback and the
	// configured hosts, so a failure here is not worth refusing to start.
	if name, err := os.Hostname(); err == nil {
		hosts = append(hosts, name)
	}
	hosts = append(hosts, extra...)

	seen := make(map[string]bool, len(hosts))
	out := hosts[:0]
	for _, h := range hosts {
		// Accept "[::1]" as written in URLs.
		h = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h), "["), "]")
		if h == "" {
			continue
		}
		key := strings.ToLower(h)
		if ip := net.ParseIP(h); ip != nil {
			key = ip.String()
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, h)
	}
	return out
}

// generateSelfSigned creates a self-signed server certificate for hosts and
// returns it and its private key PEM-encoded.
func generateSelfSigned(hosts []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate TLS key: %w", err)
	}

	// A random serial keeps certificates from different installs (or from a
	// deleted and regenerated pair) distinct to clients that cache by issuer
	// and serial. 127 bits fit RFC 5280's 20-octet limit; the +1 keeps the
	// serial positive, as it also requires.
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("generate certificate serial number: %w", err)
	}
	serial.Add(serial, big.NewInt(1))

	// Back-dated a little so a client whose clock is slightly behind does
	// not reject a certificate made moments ago. Ten years on purpose: the
	// certificate is pinned by fingerprint or added to a trust store by
	// hand, and every renewal would force every client to trust it anew.
	notBefore := now.Add(-time.Hour)
	notAfter := now.AddDate(10, 0, 0)

	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{"herald"},
			CommonName:   "herald self-signed",
		},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create TLS certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode TLS key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// fileExists reports whether path exists. Errors other than "does not
// exist" (such as permission denied) are returned, so that an unreadable
// pair is not mistaken for a missing one and replaced.
func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("check %s: %w", path, err)
	}
}

// writeNewFile writes data to path, which must not exist yet: O_EXCL makes
// two servers starting at once on the same directory fail instead of each
// overwriting the other's half of the pair. The mode is set explicitly
// because the umask may have narrowed it at creation.
func writeNewFile(path string, data []byte, mode fs.FileMode) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	// Sync so a crash right after start-up cannot leave an empty file that
	// the next start would refuse to load.
	return f.Sync()
}
