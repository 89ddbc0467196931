package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// startWithCertFiles starts a server that serves the pair in dir (first
// issued as cn), polling the files every reloadEvery.
func startWithCertFiles(t *testing.T, ca *servertest.CA, cn string, reloadEvery time.Duration) (s *servertest.Server, certPath, keyPath string) {
	t.Helper()
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	ca.WritePair(t, certPath, keyPath, cn)
	s = servertest.Start(t, server.Config{
		HTTPSAddr: "127.0.0.1:0", TLSCertFile: certPath, TLSKeyFile: keyPath, TLSReloadEvery: reloadEvery,
	})
	return s, certPath, keyPath
}

// The certificate files are served, chain included, instead of the
// self-signed certificate; replaced files are picked up by the next
// handshakes without a restart.
func TestTLSFromFilesReloadsWhenTheyChange(t *testing.T) {
	ca := servertest.NewCA(t)
	s, certPath, keyPath := startWithCertFiles(t, ca, "first", 20*time.Millisecond)
	addr := strings.TrimPrefix(s.Srv.TLSURL, "https://")

	if cn, n := ca.ServedCN(t, addr); cn != "first" || n != 2 {
		t.Fatalf("served %q with a chain of %d; want \"first\" with its intermediate (2)", cn, n)
	}
	if _, err := os.Stat(filepath.Join(s.Cfg.DataDir, "tls")); err == nil {
		t.Error("a self-signed pair was made although certificate files were given")
	}

	ca.WritePair(t, certPath, keyPath, "second")
	deadline := time.Now().Add(20 * time.Second)
	for {
		cn, _ := ca.ServedCN(t, addr)
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
	ca := servertest.NewCA(t)
	// No polling: Reload is the only way the files are read again here.
	s, certPath, keyPath := startWithCertFiles(t, ca, "good", time.Hour)
	addr := strings.TrimPrefix(s.Srv.TLSURL, "https://")
	before := s.Srv.CertFingerprint()

	_, otherKey := ca.Issue(t, "other")
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
			servertest.ReplaceFile(t, certPath, tt.cert)
			if tt.key != nil {
				servertest.ReplaceFile(t, keyPath, tt.key)
			}
			if _, err := s.Srv.ReloadCert(); err == nil {
				t.Error("ReloadCert accepted the bad pair")
			}
			if cn, _ := ca.ServedCN(t, addr); cn != "good" {
				t.Errorf("served %q after a bad replacement; want the old \"good\"", cn)
			}
			if fp := s.Srv.CertFingerprint(); fp != before {
				t.Errorf("fingerprint %s after a bad replacement; want the old %s", fp, before)
			}
			servertest.ReplaceFile(t, certPath, goodChain)
			servertest.ReplaceFile(t, keyPath, oldKey)
		})
	}

	ca.WritePair(t, certPath, keyPath, "renewed")
	fp, err := s.Srv.ReloadCert()
	if err != nil {
		t.Fatalf("ReloadCert of a good pair: %v", err)
	}
	if cn, _ := ca.ServedCN(t, addr); cn != "renewed" || fp == before || fp != s.Srv.CertFingerprint() {
		t.Errorf("served %q (fingerprint %s, before %s) after reloading a good pair; want \"renewed\"", cn, fp, before)
	}
}

// Files that do not load stop the start with an error naming them.
func TestTLSFromFilesRefusesABadPairAtStart(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	servertest.ReplaceFile(t, certPath, []byte("nonsense"))
	servertest.ReplaceFile(t, keyPath, []byte("nonsense"))
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
