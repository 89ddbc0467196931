package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// The GitHub and bearer checks pass exactly the header their secret
// makes, and refuse everything else with ErrSignature.
func FuzzInboundChecks(f *testing.F) {
	const secret = "a shared secret of some length"
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(`{"a":1}`))
	f.Add("sha256="+hex.EncodeToString(m.Sum(nil)), []byte(`{"a":1}`))
	f.Add("Bearer "+secret, []byte(nil))
	f.Add("sha256=zz", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		err := checkGitHub(secret, header, body)
		if (err == nil) != (strings.HasPrefix(header, "sha256=") && bytes.Equal(mustHex(header), m.Sum(nil))) {
			t.Fatalf("github %q: %v", header, err)
		}
		if err != nil && !errors.Is(err, ErrSignature) {
			t.Fatalf("github: %v does not wrap ErrSignature", err)
		}
		err = checkBearer(secret, header)
		if (err == nil) != (header == "Bearer "+secret) {
			t.Fatalf("bearer %q: %v", header, err)
		}
		if err != nil && !errors.Is(err, ErrSignature) {
			t.Fatalf("bearer: %v does not wrap ErrSignature", err)
		}
	})
}

// mustHex decodes the hex after "sha256=" (upper case as well as lower),
// or returns nil.
func mustHex(h string) []byte {
	if len(h) < 7 {
		return nil
	}
	b, err := hex.DecodeString(h[7:])
	if err != nil {
		return nil
	}
	return b
}
