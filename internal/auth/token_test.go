package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestParseToken(t *testing.T) {
	const id, secret = "0123456789abcdef", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcd09"
	tests := []struct {
		name, token string
		ok          bool
	}{
		{"valid", "hk_" + id + "_" + secret, true},
		{"empty", "", false},
		{"prefix only", "hk_", false},
		{"uppercase prefix", "HK_" + id + "_" + secret, false},
		{"short id", "hk_" + id[:15] + "_" + secret + "A", false},
		{"long id", "hk_" + id + "0_" + secret[1:], false},
		{"uppercase hex id", "hk_0123456789ABCDEF_" + secret, false},
		{"non-hex id", "hk_0123456789abcdeg_" + secret, false},
		{"short secret", "hk_" + id + "_" + secret[1:], false},
		{"long secret", "hk_" + id + "_" + secret + "A", false},
		{"underscore in secret", "hk_" + id + "_" + secret[1:] + "_", false},
		{"dot in secret", "hk_" + id + "_." + secret[1:], false},
		{"missing separator", "hk_" + id + "X" + secret, false},
		{"non-ascii secret", "hk_" + id + "_" + secret[2:] + "é", false},
		{"trailing newline", "hk_" + id + "_" + secret[1:] + "\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotID, gotSecret, err := ParseToken(tt.token)
			if !tt.ok {
				if !errors.Is(err, ErrUnauthorized) || gotID != "" || gotSecret != "" {
					t.Fatalf("ParseToken(%q) = %q, %q, %v; want ErrUnauthorized", tt.token, gotID, gotSecret, err)
				}
				return
			}
			if err != nil || gotID != id || gotSecret != secret {
				t.Fatalf("ParseToken(%q) = %q, %q, %v", tt.token, gotID, gotSecret, err)
			}
		})
	}
}

func TestNewTokensWellFormedAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	counts := map[byte]int{}
	for range 2000 {
		id, secret := newID(), newSecret()
		tok := formatToken(id, secret)
		gotID, gotSecret, err := ParseToken(tok)
		if err != nil || gotID != id || gotSecret != secret {
			t.Fatalf("generated token %q does not parse: %v", tok, err)
		}
		if seen[id] || seen[secret] {
			t.Fatalf("repeated id or secret: %q", tok)
		}
		seen[id], seen[secret] = true, true
		for i := range len(secret) {
			counts[secret[i]]++
		}
	}
	// 64,000 characters over 62 symbols: every symbol appears (about 1,032
	// times each); a broken alphabet or modulo slip would leave some out.
	if len(counts) != len(secretAlphabet) {
		t.Fatalf("secrets use %d distinct characters, want %d", len(counts), len(secretAlphabet))
	}
	for c, n := range counts {
		if n < 800 || n > 1300 {
			t.Errorf("character %q appears %d times, far from the uniform ~1032", c, n)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	for _, seed := range []string{
		"",
		"hk_",
		"hk_0123456789abcdef_ABCDEFGHIJKLMNOPQRSTUVWXYZabcd09",
		"hk_0123456789ABCDEF_ABCDEFGHIJKLMNOPQRSTUVWXYZabcd09",
		"hk_0123456789abcdef_ABCDEFGHIJKLMNOPQRSTUVWXYZabcd0_",
		"hk_0123456789abcdef_ABCDEFGHIJKLMNOPQRSTUVWXYZabcd0",
		"hk_0123456789abcdef-ABCDEFGHIJKLMNOPQRSTUVWXYZabcd09",
		"Bearer hk_0123456789abcdef_ABCDEFGHIJKLMNOPQRSTUVWXYZabcd09",
		"hk_0123456789abcdef_ABCDEFGHIJKLMNOPQRSTUVWXYZabc\x00\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		id, secret, err := ParseToken(token)
		if err != nil {
			if !errors.Is(err, ErrUnauthorized) || id != "" || secret != "" {
				t.Fatalf("ParseToken(%q) = %q, %q, %v", token, id, secret, err)
			}
			return
		}
		if !validID(id) || !validSecret(secret) {
			t.Fatalf("ParseToken(%q) accepted id %q secret %q", token, id, secret)
		}
		if formatToken(id, secret) != token {
			t.Fatalf("ParseToken(%q) does not round-trip", token)
		}
		if strings.ContainsAny(id+secret, "_.*> ") {
			t.Fatalf("ParseToken(%q) let a separator or wildcard through", token)
		}
	})
}
