package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/dialect"
)

// The Standard Webhooks scheme (standardwebhooks.com): a secret is
// "whsec_" and the base64 of its key; a request carries webhook-id,
// webhook-timestamp (Unix seconds) and webhook-signature, a space-separated
// list of "v1,<base64 HMAC-SHA256 of id.timestamp.body>", one per key the
// sender signs with (more than one while a secret is rotated).
const (
	SecretPrefix = "whsec_"
	HeaderID     = "webhook-id"
	HeaderTime   = "webhook-timestamp"
	HeaderSig    = "webhook-signature"
	// Tolerance is how far a request's timestamp may be from the
	// receiver's clock, either way.
	Tolerance = 5 * time.Minute
)

// Key lengths a secret may have, in bytes.
const (
	minKeyLen = 24
	maxKeyLen = 64
	newKeyLen = 32
)

// ErrSignature means a request's signature did not verify.
var ErrSignature = dialect.Sentinel(dialect.Unauthorized, "signature does not verify")

// NewSecret returns a fresh random secret in its whsec_ form.
func NewSecret() string {
	b := make([]byte, newKeyLen)
	rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ParseSecret returns the key of a whsec_ secret.
func ParseSecret(s string) ([]byte, error) {
	enc, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: a secret starts with %q", ErrInvalid, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: a secret is %q and base64", ErrInvalid, SecretPrefix)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return nil, fmt.Errorf("%w: a secret's key is %d to %d bytes, not %d", ErrInvalid, minKeyLen, maxKeyLen, len(key))
	}
	return key, nil
}

// Sign returns one signature, "v1,<base64>", of body sent as id at ts.
func Sign(key []byte, id string, ts int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, ts, body))
}

// Signatures returns the webhook-signature header of body under every key.
func Signatures(keys [][]byte, id string, ts int64, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, id, ts, body)
	}
	return strings.Join(sigs, " ")
}

func mac(key []byte, id string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a Standard Webhooks request: its timestamp within
// Tolerance of now, and one of its v1 signatures made with key (compared
// in constant time). Its errors wrap ErrSignature.
func Verify(key []byte, id, ts, sigs string, body []byte, now time.Time) error {
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("%w: %s, %s and %s are required", ErrSignature, HeaderID, HeaderTime, HeaderSig)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is not Unix seconds", ErrSignature, HeaderTime)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return fmt.Errorf("%w: %s is more than %s from now", ErrSignature, HeaderTime, Tolerance)
	}
	want := mac(key, id, sec, body)
	for sig := range strings.FieldsSeq(sigs) {
		enc, ok := strings.CutPrefix(sig, "v1,")
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(enc)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", ErrSignature)
}
