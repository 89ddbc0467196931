package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// httpClient is the HTTP client of the client commands: the default one,
// or one that also trusts --ca's certificates, or (--insecure) checks
// none.
func httpClient(g *Globals) (*http.Client, error) {
	if g.CA == "" && !g.Insecure {
		return http.DefaultClient, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if g.CA != "" {
		pem, err := os.ReadFile(g.CA)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s: no PEM certificate in it", g.CA)
		}
		cfg.RootCAs = pool
	}
	cfg.InsecureSkipVerify = g.Insecure // #nosec G402 -- the operator asked for it, for a test
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr}, nil
}

// untrustedHint says how to trust a certificate the client refused:
// herald's own self-signed one is in the data directory.
func untrustedHint(err error, data string) string {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &unknown) && !errors.As(err, &invalid) {
		return ""
	}
	return "; to trust herald's self-signed certificate give --ca " + filepath.Join(data, "tls", "cert.pem") +
		" (or --insecure, for a test)"
}
