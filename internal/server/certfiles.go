package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTLSReloadEvery is how often the certificate files are checked for
// a change when Config.TLSReloadEvery is 0.
const DefaultTLSReloadEvery = 5 * time.Second

// certStore holds the certificate the HTTPS listener serves, read by every
// handshake through GetCertificate.
//
// Ownership: cur is swapped whole, never changed in place, so handshakes
// read it without a lock. mu serialises reloads (the poller and SIGHUP) and
// guards seen. Without files (the self-signed pair) nothing reloads.
type certStore struct {
	cur atomic.Pointer[tls.Certificate]

	certPath, keyPath string // "" for the self-signed pair
	log               *slog.Logger

	mu   sync.Mutex
	seen [2]os.FileInfo // the files as last read, to tell a change
}

// newCertStore serves cert, which came from certPath and keyPath ("" for
// none).
func newCertStore(cert tls.Certificate, certPath, keyPath string, log *slog.Logger) *certStore {
	c := &certStore{certPath: certPath, keyPath: keyPath, log: log}
	c.cur.Store(&cert)
	if certPath != "" {
		c.seen = c.stat()
	}
	return c
}

// loadCertFiles reads a PEM certificate (the leaf first, then the chain
// its clients need) and its key.
func loadCertFiles(certPath, keyPath string) (tls.Certificate, error) {
	if certPath == "" || keyPath == "" {
		return tls.Certificate{}, errors.New("TLS: give both the certificate file and its key file")
	}
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load TLS certificate %s and key %s: %w", certPath, keyPath, err)
	}
	return cert, nil
}

// getCertificate is tls.Config.GetCertificate.
func (c *certStore) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cur.Load(), nil
}

// fingerprint is the served certificate's SHA-256 fingerprint.
func (c *certStore) fingerprint() string { return CertFingerprint(*c.cur.Load()) }

// reload reads the files again and serves them if they load as a pair;
// otherwise the served certificate stays. With force false it reads them
// only if either changed since it last did. It reports whether it replaced
// the certificate.
func (c *certStore) reload(force bool) (bool, error) {
	if c.certPath == "" {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.stat()
	if !force && sameFile(now[0], c.seen[0]) && sameFile(now[1], c.seen[1]) {
		return false, nil
	}
	// Remembered even if the pair is bad: a pair caught half written is
	// read again once the other file changes too, and a bad one is
	// reported once, not at every poll.
	c.seen = now
	cert, err := loadCertFiles(c.certPath, c.keyPath)
	if err != nil {
		return false, err
	}
	c.cur.Store(&cert)
	return true, nil
}

// watch polls the files every interval until ctx ends. Polling, rather
// than file events, sees every way a certificate is replaced (rename over,
// rewrite in place, a symlink swapped as Kubernetes does with secrets) on
// any file system.
func (c *certStore) watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		switch changed, err := c.reload(false); {
		case err != nil:
			c.log.Error("TLS certificate files changed but do not load; still serving the previous certificate",
				"cert", c.certPath, "key", c.keyPath, "err", err)
		case changed:
			c.log.Info("TLS certificate reloaded", "cert", c.certPath, "sha256", c.fingerprint())
		}
	}
}

// stat describes both files as they are now (nil for one that cannot be
// read: a change the next reload reports).
func (c *certStore) stat() [2]os.FileInfo {
	var out [2]os.FileInfo
	for i, p := range []string{c.certPath, c.keyPath} {
		out[i], _ = os.Stat(p)
	}
	return out
}

// sameFile reports whether a and b are the same file, unmodified: a file
// renamed over another is another file even with the same size and time.
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
