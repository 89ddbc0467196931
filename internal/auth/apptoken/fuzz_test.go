package apptoken

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-io/herald/internal/auth"
)

// FuzzVerify: whatever a client sends as a token, Verify refuses it with
// an error wrapping auth.ErrUnauthorized, or accepts it as a subject's
// key that is never admin and never a dialect's.
func FuzzVerify(f *testing.F) {
	ks := keys()
	v, _ := verifier(f, Config{HMACSecretFile: writeFile(f, "secret", []byte(secret)), PublicKeyFile: pemFile(f, ks.ed.Public())})
	f.Add(sign(f, jwt.SigningMethodHS256, []byte(secret), valid(), ""))
	f.Add(sign(f, jwt.SigningMethodEdDSA, ks.ed, valid(), "k"))
	f.Add(sign(f, jwt.SigningMethodHS256, []byte(secret), with(valid(), "herald", map[string]any{"publish": []string{">"}}, "admin", true), ""))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, token string) {
		k, err := v.Verify(context.Background(), token)
		if err != nil {
			if k != nil || !errors.Is(err, auth.ErrUnauthorized) {
				t.Fatalf("%+v, %v", k, err)
			}
			return
		}
		if k.Admin || k.Dialect != "" || !strings.HasPrefix(k.ID, "jwt-") || k.ID != KeyID(strings.TrimPrefix(k.Name, "jwt:")) {
			t.Fatalf("accepted as %+v", k)
		}
	})
}
