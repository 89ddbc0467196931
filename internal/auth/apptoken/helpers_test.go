package apptoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-io/herald/internal/clocktest"
)

// now is where the tests' clocks stand.
var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const secret = "0123456789abcdef0123456789abcdef" // 32 bytes

// writeFile writes data to a fresh file and returns its path.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pemFile(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// The tests' key pairs, made once: RSA keys take a while.
var keys = sync.OnceValue(func() struct {
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	ed   ed25519.PrivateKey
	rsa2 *rsa.PrivateKey
} {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	r2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	_, d, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return struct {
		rsa  *rsa.PrivateKey
		ec   *ecdsa.PrivateKey
		ed   ed25519.PrivateKey
		rsa2 *rsa.PrivateKey
	}{r, e, d, r2}
})

// verifier returns a Verifier over cfg with a clock stopped at now.
func verifier(t testing.TB, cfg Config) (*Verifier, *clocktest.Clock) {
	t.Helper()
	clock := clocktest.New(now)
	cfg.Now = clock.Now
	v, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v, clock
}

// valid are claims herald accepts: a subject, an hour to live, scopes.
func valid() jwt.MapClaims {
	return jwt.MapClaims{
		"sub":    "user-42",
		"exp":    now.Add(time.Hour).Unix(),
		"iat":    now.Unix(),
		"herald": map[string]any{"publish": []string{"app.chat.>"}, "subscribe": []string{"app.>"}},
	}
}

// sign signs c with m and key; kid, if set, goes in the header.
func sign(t testing.TB, m jwt.SigningMethod, key any, c jwt.MapClaims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
			continue
		}
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}
