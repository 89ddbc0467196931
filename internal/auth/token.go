package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Token layout: "hk_" + id + "_" + secret. The fixed prefix makes leaked
// tokens easy to recognise by secret scanners; the id lets the server find
// the key without searching, and only the secret is, well, secret.
const (
	tokenPrefix = "hk_"
	idLen       = 16 // lowercase hex: 64 random bits, enough to avoid collisions
	secretLen   = 32 // [A-Za-z0-9]: about 190 random bits
	tokenLen    = len(tokenPrefix) + idLen + 1 + secretLen
)

const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// ParseToken splits a token of the form "hk_<id>_<secret>" into its id and
// secret. Anything else gives an error wrapping ErrUnauthorized.
func ParseToken(token string) (id, secret string, err error) {
	if len(token) != tokenLen || token[:len(tokenPrefix)] != tokenPrefix || token[len(tokenPrefix)+idLen] != '_' {
		return "", "", fmt.Errorf("%w: malformed token", ErrUnauthorized)
	}
	id = token[len(tokenPrefix) : len(tokenPrefix)+idLen]
	secret = token[len(tokenPrefix)+idLen+1:]
	if !validID(id) || !validSecret(secret) {
		return "", "", fmt.Errorf("%w: malformed token", ErrUnauthorized)
	}
	return id, secret, nil
}

func formatToken(id, secret string) string {
	return tokenPrefix + id + "_" + secret
}

// validID reports whether id has the form of a key id. It is checked before
// an id is used in a KV key, so no caller-supplied id can reach another
// part of the bucket.
func validID(id string) bool {
	if len(id) != idLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func validSecret(s string) bool {
	if len(s) != secretLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// newID returns a random key id.
func newID() string {
	var b [idLen / 2]byte
	rand.Read(b[:]) // never fails: crypto/rand.Read panics rather than return short
	return hex.EncodeToString(b[:])
}

// newSecret returns secretLen characters drawn uniformly from secretAlphabet.
func newSecret() string {
	out := make([]byte, 0, secretLen)
	var buf [64]byte
	for len(out) < secretLen {
		rand.Read(buf[:])
		for _, b := range buf {
			// Reject the top of the byte range so that b%62 is unbiased:
			// 248 is the largest multiple of 62 that fits in a byte.
			if b >= 248 {
				continue
			}
			out = append(out, secretAlphabet[b%byte(len(secretAlphabet))])
			if len(out) == secretLen {
				break
			}
		}
	}
	return string(out)
}

// hashSecret is the digest stored in place of a secret. A fast hash is
// enough here: secrets are long and random, not passwords to be guessed.
func hashSecret(secret string) [sha256.Size]byte {
	return sha256.Sum256([]byte(secret))
}
