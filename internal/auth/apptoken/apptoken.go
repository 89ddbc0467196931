// Package apptoken verifies app-signed tokens: JWTs that the operator's
// application signs for its own users (HS256 with a shared secret, or
// RS256, ES256 or EdDSA with a key herald knows as a PEM file or from a
// JWKS URL), so that a browser gets a short-lived credential without a
// round trip to herald.
//
// A verified token stands for a key that is never stored: auth.Key with
// the token's topic scopes, never admin and never a vendor dialect's, whose
// id is derived from the subject ("jwt-" and 24 hex digits of the SHA-256
// of "jwt:<sub>"), so rate limits, streams per key and native subscription
// ownership are per subject. Such an id has a '-' and so is never the id
// of a stored key (16 hex digits).
//
// The claims: "sub" and "exp" are required; "nbf" and "iat" are checked
// when present; "aud" must contain the configured audience, and a token
// that names an audience is refused when none is configured (it is for
// someone else); "iss" must equal the configured issuer, when one is.
// Herald's own claim holds the scopes, topic patterns as for keys:
//
//	"herald": {"publish": ["app.chat.>"], "subscribe": ["app.>"]}
//
// A token without it may authenticate but do nothing.
package apptoken

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"github.com/herald-io/herald/internal/auth"
)

// MaxTokenLen bounds what is parsed: a token with a few dozen scopes is a
// fraction of it.
const MaxTokenLen = 8 << 10

// The signing algorithms herald accepts, one per kind of key.
const (
	HS256 = "HS256" // the shared secret
	RS256 = "RS256" // an RSA public key (2048 bits or more)
	ES256 = "ES256" // an ECDSA P-256 public key
	EdDSA = "EdDSA" // an Ed25519 public key
)

// Errors callers branch on. Every error Verify returns wraps
// auth.ErrUnauthorized.
var (
	// ErrExpired is a token past its "exp": the client should get a new one.
	ErrExpired = fmt.Errorf("%w: the token has expired", auth.ErrUnauthorized)
	// ErrInvalid is any other token herald does not accept; the wrapping
	// error says why, for the log (not for the client).
	ErrInvalid = fmt.Errorf("%w: the token is not valid", auth.ErrUnauthorized)
)

// Config says which app-signed tokens to accept. With none of
// HMACSecretFile, PublicKeyFile and JWKSURL set, none are.
type Config struct {
	// HMACSecretFile holds the HS256 secret, at least 32 bytes; a final
	// line break is not part of it.
	HMACSecretFile string
	// PublicKeyFile is a PEM public key (PKIX "PUBLIC KEY", PKCS #1 "RSA
	// PUBLIC KEY" or a "CERTIFICATE"): RSA for RS256, P-256 for ES256,
	// Ed25519 for EdDSA. Not with JWKSURL.
	PublicKeyFile string
	// JWKSURL is a JSON Web Key Set of public keys (RSA, P-256, Ed25519),
	// read at start, every JWKSRefresh (0: DefaultJWKSRefresh) and, at most
	// once per UnknownKIDRefresh, when a token names a key id it lacks.
	JWKSURL     string
	JWKSRefresh time.Duration
	// Audience, if set, must be in the token's "aud"; Issuer, if set, must
	// be its "iss".
	Audience, Issuer string
	Logger           *slog.Logger
	// Now is the clock of expiry and of the rate bounds (tests stop it).
	Now func() time.Time
	// HTTPClient fetches the JWKS (default: one with a 10 s timeout).
	HTTPClient *http.Client
}

// Enabled reports whether c accepts any token.
func (c Config) Enabled() bool {
	return c.HMACSecretFile != "" || c.PublicKeyFile != "" || c.JWKSURL != ""
}

// Rate bounds.
const (
	DefaultJWKSRefresh = 5 * time.Minute
	// UnknownKIDRefresh is how often a token naming a key the set lacks
	// (a key the application has just started using, or a made-up id) may
	// fetch the set again; other such tokens are refused meanwhile.
	UnknownKIDRefresh = 30 * time.Second
	// refusals logged per second (at debug, with the reason), so a flood
	// of bad tokens does not become a flood of log lines.
	refusalLogRate  = 1
	refusalLogBurst = 10
)

// Verifier checks app-signed tokens. It is safe for concurrent use.
type Verifier struct {
	parser   *jwt.Parser
	secret   []byte           // HS256; nil without
	public   crypto.PublicKey // from PublicKeyFile; nil without
	jwks     *jwks            // nil without
	audience string
	log      *slog.Logger
	now      func() time.Time
	logLim   *rate.Limiter
	cancel   context.CancelFunc // ends the JWKS refresh
}

// New reads the keys c names and returns a Verifier, or nil without error
// when c enables nothing. With a JWKS URL it fetches the set (a failure is
// logged and retried, so herald starts when the set's server is down) and
// refreshes it in the background until Close.
func New(ctx context.Context, c Config) (*Verifier, error) {
	if !c.Enabled() {
		return nil, nil
	}
	if c.PublicKeyFile != "" && c.JWKSURL != "" {
		return nil, errors.New("app tokens: a public key file or a JWKS URL, not both")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	v := &Verifier{audience: c.Audience, log: c.Logger, now: c.Now,
		logLim: rate.NewLimiter(refusalLogRate, refusalLogBurst)}
	var algs []string
	if c.HMACSecretFile != "" {
		s, err := readSecret(c.HMACSecretFile)
		if err != nil {
			return nil, err
		}
		v.secret = s
		algs = append(algs, HS256)
	}
	if c.PublicKeyFile != "" {
		k, alg, err := readPublicKey(c.PublicKeyFile)
		if err != nil {
			return nil, err
		}
		v.public = k
		algs = append(algs, alg)
	}
	if c.JWKSURL != "" {
		bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
		j, err := newJWKS(bg, c)
		if err != nil {
			cancel()
			return nil, err
		}
		v.jwks, v.cancel = j, cancel
		algs = append(algs, RS256, ES256, EdDSA)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs), // never "none", never an alg without a key
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(c.Now),
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	v.parser = jwt.NewParser(opts...)
	c.Logger.Info("app tokens accepted", "algorithms", algs, "audience", c.Audience, "issuer", c.Issuer, "jwks", c.JWKSURL)
	return v, nil
}

// Close stops the JWKS refresh.
func (v *Verifier) Close() {
	if v != nil && v.cancel != nil {
		v.cancel()
	}
}

// Looks reports whether s has the shape of a JWT (three dot-separated
// parts) rather than of a herald key, so that a caller can tell which to
// verify it as without trying both.
func Looks(s string) bool {
	return !strings.HasPrefix(s, "hk_") && strings.Count(s, ".") == 2
}

// claims are what herald reads from a token.
type claims struct {
	jwt.RegisteredClaims
	Herald *scopes `json:"herald,omitempty"`
}

type scopes struct {
	Publish   []string `json:"publish,omitempty"`
	Subscribe []string `json:"subscribe,omitempty"`
}

// Verify checks token and returns the key it stands for. Every error wraps
// auth.ErrUnauthorized: ErrExpired for an expired token, else ErrInvalid.
func (v *Verifier) Verify(ctx context.Context, token string) (*auth.Key, error) {
	k, err := v.verify(ctx, token)
	if err != nil {
		if v.logLim.AllowN(v.now(), 1) {
			v.log.Debug("app token refused", "err", err)
		}
		return nil, err
	}
	return k, nil
}

func (v *Verifier) verify(ctx context.Context, token string) (*auth.Key, error) {
	if len(token) > MaxTokenLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalid, MaxTokenLen)
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(token, &c, v.keyfunc(ctx)); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, ErrExpired
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if v.audience == "" && len(c.Audience) > 0 {
		return nil, fmt.Errorf("%w: it names an audience (%s) and herald has none configured", ErrInvalid, strings.Join(c.Audience, ", "))
	}
	return identity(&c)
}

// identity is the key a verified token's claims stand for.
func identity(c *claims) (*auth.Key, error) {
	sub := c.Subject
	switch {
	case sub == "":
		return nil, fmt.Errorf("%w: no subject (sub)", ErrInvalid)
	case strings.TrimSpace(sub) != sub:
		return nil, fmt.Errorf("%w: the subject begins or ends with a space", ErrInvalid)
	case utf8.RuneCountInString(sub) > MaxSubjectLen:
		return nil, fmt.Errorf("%w: the subject is longer than %d characters", ErrInvalid, MaxSubjectLen)
	}
	spec := auth.Spec{Name: namePrefix + sub}
	if c.Herald != nil {
		spec.Publish, spec.Subscribe = c.Herald.Publish, c.Herald.Subscribe
	}
	k, err := spec.Validate()
	if err != nil {
		// Not auth.ErrInvalid (a bad request): the token is what is wrong.
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	k.ID = KeyID(sub)
	return k, nil
}

// MaxSubjectLen is the longest subject, in characters: the key's name,
// "jwt:<sub>", is a key name like any other.
const MaxSubjectLen = auth.MaxNameLen - len(namePrefix)

const namePrefix = "jwt:"

// KeyID is the id of the key a token with subject sub stands for.
func KeyID(sub string) string {
	sum := sha256.Sum256([]byte(namePrefix + sub))
	return "jwt-" + hex.EncodeToString(sum[:12])
}
