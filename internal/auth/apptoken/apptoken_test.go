package apptoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/topic"
)

func TestAcceptedTokenIsASubjectsKey(t *testing.T) {
	v, _ := verifier(t, Config{HMACSecretFile: writeFile(t, "secret", []byte(secret+"\n"))})
	k, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, []byte(secret), valid(), ""))
	if err != nil {
		t.Fatal(err)
	}
	if k.ID != KeyID("user-42") || k.Name != "jwt:user-42" || k.Admin || k.Dialect != "" {
		t.Fatalf("key %+v", k)
	}
	if !slices.Equal(k.Publish, []string{"app.chat.>"}) || !slices.Equal(k.Subscribe, []string{"app.>"}) {
		t.Fatalf("scopes %v %v", k.Publish, k.Subscribe)
	}
	if !k.CanPublish("app.chat.room1") || k.CanPublish("app.other") || !k.CanSubscribe(topic.Filter{"app.news"}) {
		t.Fatal("scopes not applied")
	}
	if KeyID("user-42") == KeyID("user-43") || !strings.HasPrefix(k.ID, "jwt-") || len(k.ID) != 28 {
		t.Fatalf("key id %q", k.ID)
	}
}

// TestRefused: every token herald must not accept, each refused with an
// error that wraps auth.ErrUnauthorized (a 401 for the client).
func TestRefused(t *testing.T) {
	ks := keys()
	rsaPEM := func() []byte {
		der, _ := x509.MarshalPKIXPublicKey(&ks.rsa.PublicKey)
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}()
	hmacOnly := Config{HMACSecretFile: writeFile(t, "secret", []byte(secret))}
	rsaOnly := Config{PublicKeyFile: writeFile(t, "rsa.pem", rsaPEM)}
	both := Config{HMACSecretFile: hmacOnly.HMACSecretFile, PublicKeyFile: rsaOnly.PublicKeyFile}
	strict := Config{HMACSecretFile: hmacOnly.HMACSecretFile, Audience: "herald", Issuer: "https://app.example"}
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(secret), c, "") }
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, valid()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// A token whose header says none but whose claims are fine, with the
	// HMAC of the rest as its signature: still none.
	noneSigned := func() string {
		parts := strings.Split(hs(valid()), ".")
		h := strings.Split(none, ".")[0]
		return h + "." + parts[1] + "." + parts[2]
	}()
	cases := []struct {
		name  string
		cfg   Config
		token string
		want  error
	}{
		{"expired", hmacOnly, hs(with(valid(), "exp", now.Add(-time.Second).Unix())), ErrExpired},
		{"expired now", hmacOnly, hs(with(valid(), "exp", now.Unix())), ErrExpired},
		{"not yet valid", hmacOnly, hs(with(valid(), "nbf", now.Add(time.Minute).Unix())), ErrInvalid},
		{"issued in the future", hmacOnly, hs(with(valid(), "iat", now.Add(time.Minute).Unix())), ErrInvalid},
		{"no exp", hmacOnly, hs(with(valid(), "exp", nil)), ErrInvalid},
		{"no sub", hmacOnly, hs(with(valid(), "sub", nil)), ErrInvalid},
		{"sub with spaces", hmacOnly, hs(with(valid(), "sub", " user")), ErrInvalid},
		{"sub too long", hmacOnly, hs(with(valid(), "sub", strings.Repeat("u", MaxSubjectLen+1))), ErrInvalid},
		{"sub with a control character", hmacOnly, hs(with(valid(), "sub", "a\u202eb")), ErrInvalid},
		{"bad scope", hmacOnly, hs(with(valid(), "herald", map[string]any{"publish": []string{"a..b"}})), ErrInvalid},
		{"scope not a list", hmacOnly, hs(with(valid(), "herald", map[string]any{"publish": "app.>"})), ErrInvalid},
		{"wrong secret", hmacOnly, sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), valid(), ""), ErrInvalid},
		{"alg none", hmacOnly, none, ErrInvalid},
		{"alg none with a signature", hmacOnly, noneSigned, ErrInvalid},
		{"HS512 (not accepted)", hmacOnly, sign(t, jwt.SigningMethodHS512, []byte(secret), valid(), ""), ErrInvalid},
		// The classic confusion: the RSA public key's text used as an HMAC secret.
		{"HS256 signed with the RSA public key, RSA configured", rsaOnly, sign(t, jwt.SigningMethodHS256, rsaPEM, valid(), ""), ErrInvalid},
		{"HS256 signed with the RSA public key, both configured", both, sign(t, jwt.SigningMethodHS256, rsaPEM, valid(), ""), ErrInvalid},
		{"RS256 with only a secret configured", hmacOnly, sign(t, jwt.SigningMethodRS256, ks.rsa, valid(), ""), ErrInvalid},
		{"RS256 by another key", rsaOnly, sign(t, jwt.SigningMethodRS256, ks.rsa2, valid(), ""), ErrInvalid},
		{"ES256 with an RSA key configured", rsaOnly, sign(t, jwt.SigningMethodES256, ks.ec, valid(), ""), ErrInvalid},
		{"PS256 with an RSA key configured", rsaOnly, sign(t, jwt.SigningMethodPS256, ks.rsa, valid(), ""), ErrInvalid},
		{"an audience, none configured", hmacOnly, hs(with(valid(), "aud", "other-service")), ErrInvalid},
		{"wrong audience", strict, hs(with(valid(), "aud", "other-service", "iss", "https://app.example")), ErrInvalid},
		{"no audience, one configured", strict, hs(with(valid(), "iss", "https://app.example")), ErrInvalid},
		{"wrong issuer", strict, hs(with(valid(), "aud", "herald", "iss", "https://evil.example")), ErrInvalid},
		{"no issuer, one configured", strict, hs(with(valid(), "aud", "herald")), ErrInvalid},
		{"malformed", hmacOnly, "a.b.c", ErrInvalid},
		{"too long", hmacOnly, hs(with(valid(), "pad", strings.Repeat("x", MaxTokenLen))), ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, _ := verifier(t, c.cfg)
			k, err := v.Verify(context.Background(), c.token)
			if k != nil || !errors.Is(err, c.want) || !errors.Is(err, auth.ErrUnauthorized) {
				t.Fatalf("got %+v, %v; want %v", k, err, c.want)
			}
		})
	}
}

func TestAudienceAndIssuerWhenConfigured(t *testing.T) {
	v, _ := verifier(t, Config{HMACSecretFile: writeFile(t, "secret", []byte(secret)), Audience: "herald", Issuer: "https://app.example"})
	tok := sign(t, jwt.SigningMethodHS256, []byte(secret),
		with(valid(), "aud", []string{"other", "herald"}, "iss", "https://app.example"), "")
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

func TestExpiryFollowsTheClock(t *testing.T) {
	v, clock := verifier(t, Config{HMACSecretFile: writeFile(t, "secret", []byte(secret))})
	tok := sign(t, jwt.SigningMethodHS256, []byte(secret),
		with(valid(), "nbf", now.Add(time.Minute).Unix(), "exp", now.Add(2*time.Minute).Unix()), "")
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("before nbf: %v", err)
	}
	clock.Advance(time.Minute)
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("at nbf: %v", err)
	}
	clock.Advance(time.Minute)
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("at exp: %v", err)
	}
}

func TestPublicKeyFiles(t *testing.T) {
	ks := keys()
	rsaDER := x509.MarshalPKCS1PublicKey(&ks.rsa.PublicKey)
	cases := []struct {
		name string
		file []byte
		m    jwt.SigningMethod
		key  any
	}{
		{"RSA PKIX", nil, jwt.SigningMethodRS256, ks.rsa},
		{"RSA PKCS1", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: rsaDER}), jwt.SigningMethodRS256, ks.rsa},
		{"P-256", nil, jwt.SigningMethodES256, ks.ec},
		{"Ed25519", nil, jwt.SigningMethodEdDSA, ks.ed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := ""
			if c.file != nil {
				path = writeFile(t, "pub.pem", c.file)
			} else {
				path = pemFile(t, c.key.(interface{ Public() crypto.PublicKey }).Public())
			}
			v, _ := verifier(t, Config{PublicKeyFile: path})
			if _, err := v.Verify(context.Background(), sign(t, c.m, c.key, valid(), "")); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, c.file, valid(), "")); err == nil {
				t.Fatal("an HS256 token was accepted with only a public key configured")
			}
		})
	}
}

func TestKeyFilesRefused(t *testing.T) {
	ks := keys()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	priv, _ := x509.MarshalPKCS8PrivateKey(ks.ec)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"short secret", Config{HMACSecretFile: writeFile(t, "s", []byte("short\n"))}, "at least 32"},
		{"missing secret", Config{HMACSecretFile: "/nonexistent/secret"}, "no such file"},
		{"P-384", Config{PublicKeyFile: pemFile(t, &p384.PublicKey)}, "P-256"},
		{"RSA 1024", Config{PublicKeyFile: pemFile(t, &small.PublicKey)}, "too short"},
		{"private key", Config{PublicKeyFile: writeFile(t, "k", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}))}, "public half"},
		{"not PEM", Config{PublicKeyFile: writeFile(t, "k", []byte("hello"))}, "no PEM block"},
		{"key and JWKS", Config{PublicKeyFile: pemFile(t, &ks.ec.PublicKey), JWKSURL: "https://example.com/jwks"}, "not both"},
		{"JWKS URL", Config{JWKSURL: "file:///etc/jwks.json"}, "http or https"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := New(context.Background(), c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				v.Close()
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}

func TestNothingConfigured(t *testing.T) {
	v, err := New(context.Background(), Config{Audience: "herald"})
	if v != nil || err != nil {
		t.Fatalf("%v %v", v, err)
	}
	v.Close() // a nil Verifier closes
}

func TestLooks(t *testing.T) {
	for s, want := range map[string]bool{
		"hk_0123456789abcdef_ABCDEFGHIJKLMNOPQRSTUVWXYZ012345": false,
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig":             true,
		"hk_a.b.c": false,
		"a.b":      false,
		"":         false,
	} {
		if Looks(s) != want {
			t.Errorf("Looks(%q) = %v", s, !want)
		}
	}
}
