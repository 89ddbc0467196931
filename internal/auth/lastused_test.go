package auth

import (
	"testing"
	"time"

	"github.com/herald-io/herald/internal/clocktest"
)

// LastUsed is when this node last authenticated a key, by its token or an
// alias; a wrong secret does not count, and a revoked key has none.
func TestLastUsed(t *testing.T) {
	ctx := t.Context()
	c := clocktest.New(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	s := startService(t, newMemKV(), Config{Now: c.Now})
	k, token := mustCreate(t, s, Spec{Name: "reader", Subscribe: []string{"app.>"}})
	if got := s.LastUsed(k.ID); !got.IsZero() {
		t.Fatalf("a key never used: LastUsed %v, want zero", got)
	}
	if _, err := s.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	first := c.Now()
	if got := s.LastUsed(k.ID); !got.Equal(first) {
		t.Fatalf("after Authenticate: LastUsed %v, want %v", got, first)
	}

	c.Advance(time.Minute)
	wrong := token[:len(token)-1] + "x"
	if wrong == token { // one secret in the alphabet's size ends in x
		wrong = token[:len(token)-1] + "y"
	}
	if _, err := s.Authenticate(ctx, wrong); err == nil {
		t.Fatal("a wrong secret authenticated")
	}
	if got := s.LastUsed(k.ID); !got.Equal(first) {
		t.Fatalf("a wrong secret moved LastUsed to %v", got)
	}

	const secret = "an-alias-secret-long-enough"
	if err := s.CreateAlias(ctx, "jetstream", secret, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAlias(ctx, "jetstream", secret); err != nil {
		t.Fatal(err)
	}
	if got := s.LastUsed(k.ID); !got.Equal(c.Now()) {
		t.Fatalf("after AuthenticateAlias: LastUsed %v, want %v", got, c.Now())
	}

	if err := s.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if got := s.LastUsed(k.ID); !got.IsZero() {
		t.Fatalf("a revoked key: LastUsed %v, want zero", got)
	}
}
