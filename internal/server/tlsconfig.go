package server

import "crypto/tls"

// tlsSuites are the TLS 1.2 cipher suites herald accepts: forward secrecy
// (ECDHE) and authenticated encryption (AEAD) only. Go's defaults also
// offer CBC with SHA-1 to TLS 1.2 clients, which is open to padding-oracle
// and timing attacks. The RSA suites serve a certificate an operator put in
// place of the generated ECDSA one. TLS 1.3 suites are not configurable in
// Go, and all of them are AEAD.
var tlsSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tlsConfig is the HTTPS listener's configuration; each handshake asks
// certs for the certificate, so a reloaded one serves the next handshake.
func tlsConfig(certs *certStore) *tls.Config {
	return &tls.Config{
		GetCertificate: certs.getCertificate,
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   tlsSuites,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}
