package apptoken

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Key sizes herald refuses to trust.
const (
	minSecretLen = 32   // bytes: HS256's hash size (RFC 7518 §3.2)
	minRSABits   = 2048 // RFC 7518 §3.3
)

var errNoKey = errors.New("no key for this algorithm is configured")

// keyfunc picks the key a token is verified with by its algorithm, which
// the parser has already checked is one herald has a key for: the secret
// for HS256 only, and for the others a public key of the algorithm's own
// type only, so that no token signed with one kind of key is checked
// against another (an HS256 token "signed" with the RSA public key's text).
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		alg := t.Method.Alg()
		switch {
		case alg == HS256 && v.secret != nil:
			return v.secret, nil
		case alg == HS256:
			return nil, errNoKey
		case v.public != nil:
			if a, _ := algFor(v.public); a != alg {
				return nil, fmt.Errorf("the public key is for %s, the token is signed with %s", a, alg)
			}
			return v.public, nil
		case v.jwks != nil:
			return v.jwks.key(ctx, t)
		}
		return nil, errNoKey
	}
}

// algFor is the one algorithm herald verifies with key k.
func algFor(k any) (string, error) {
	switch k := k.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits {
			return "", fmt.Errorf("an RSA key of %d bits is too short (at least %d)", n, minRSABits)
		}
		return RS256, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("an ECDSA key on %s: ES256 wants P-256", k.Curve.Params().Name)
		}
		return ES256, nil
	case ed25519.PublicKey:
		return EdDSA, nil
	}
	return "", fmt.Errorf("a %T is not an RSA, P-256 or Ed25519 public key", k)
}

// readSecret reads the HMAC secret: the file's bytes without a final line
// break, which editors and `openssl rand -hex 32 > file` add.
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("app tokens: HMAC secret: %w", err)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) < minSecretLen {
		return nil, fmt.Errorf("app tokens: HMAC secret %s is %d bytes; HS256 wants at least %d (openssl rand -hex 32)", path, len(b), minSecretLen)
	}
	return b, nil
}

// readPublicKey reads a PEM public key and the algorithm it verifies.
func readPublicKey(path string) (crypto.PublicKey, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("app tokens: public key: %w", err)
	}
	k, err := parsePublicKey(data)
	if err != nil {
		return nil, "", fmt.Errorf("app tokens: public key %s: %w", path, err)
	}
	alg, err := algFor(k)
	if err != nil {
		return nil, "", fmt.Errorf("app tokens: public key %s: %w", path, err)
	}
	return k, alg, nil
}

func parsePublicKey(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	if strings.Contains(block.Type, "PRIVATE") {
		return nil, errors.New("this is a private key: give herald only the public half (openssl pkey -in key.pem -pubout)")
	}
	return nil, fmt.Errorf("a PEM %q block is not a public key", block.Type)
}
