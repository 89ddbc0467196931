package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnsureAdmin(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	s := startService(t, kv, Config{})
	path := filepath.Join(t.TempDir(), "data", "admin.key")

	token, created, err := s.EnsureAdmin(ctx, path)
	if err != nil || !created {
		t.Fatalf("first EnsureAdmin: created %v, %v", created, err)
	}
	k, err := s.Authenticate(ctx, token)
	if err != nil || !k.Admin || k.Name != "admin" || !k.CanPublish("any.topic") || !k.CanSubscribe(nil) {
		t.Fatalf("admin token authenticates as %+v, %v", k, err)
	}
	if len(k.Publish) != 1 || k.Publish[0] != ">" || len(k.Subscribe) != 1 || k.Subscribe[0] != ">" {
		t.Fatalf("admin scopes %v %v, want [>] [>]", k.Publish, k.Subscribe)
	}
	assertMode(t, path, 0o600)
	assertMode(t, filepath.Dir(path), 0o700|os.ModeDir)
	data, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(data)) != token {
		t.Fatalf("file holds %q, %v; want the token", data, err)
	}

	again, created, err := s.EnsureAdmin(ctx, path)
	if err != nil || created || again != token {
		t.Fatalf("second EnsureAdmin: %q created %v, %v; want the same token, not created", again, created, err)
	}
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Fatalf("%d keys after two EnsureAdmin calls, want 1", len(list))
	}
	// A fresh node (a restart) finds the same key too.
	if again, created, err := startService(t, kv, Config{}).EnsureAdmin(ctx, path); err != nil || created || again != token {
		t.Fatalf("EnsureAdmin after restart: created %v, %v", created, err)
	}
}

func TestEnsureAdminReplaces(t *testing.T) {
	tests := []struct {
		name    string
		content func(t *testing.T, s *Service) string
	}{
		{"garbage", func(*testing.T, *Service) string { return "not a token" }},
		{"empty", func(*testing.T, *Service) string { return "" }},
		{"non-admin key", func(t *testing.T, s *Service) string {
			_, token := mustCreate(t, s, Spec{Name: "user", Publish: []string{">"}, Subscribe: []string{">"}})
			return token
		}},
		{"revoked admin key", func(t *testing.T, s *Service) string {
			k, token := mustCreate(t, s, Spec{Name: "admin", Admin: true})
			if err := s.Revoke(t.Context(), k.ID); err != nil {
				t.Fatal(err)
			}
			return token
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startService(t, newMemKV(), Config{})
			path := filepath.Join(t.TempDir(), "admin.key")
			old := tt.content(t, s)
			if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
				t.Fatal(err)
			}
			token, created, err := s.EnsureAdmin(t.Context(), path)
			if err != nil || !created || token == old {
				t.Fatalf("EnsureAdmin: created %v, %v; want a new token", created, err)
			}
			if k, err := s.Authenticate(t.Context(), token); err != nil || !k.Admin {
				t.Fatalf("new token: %+v, %v", k, err)
			}
			assertMode(t, path, 0o600)
		})
	}
}

// While the engine cannot be asked, EnsureAdmin must neither mint a new
// admin key nor overwrite the file.
func TestEnsureAdminEngineDown(t *testing.T) {
	kv := newMemKV()
	path := filepath.Join(t.TempDir(), "admin.key")
	token, _, err := New(kv, Config{}).EnsureAdmin(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	down := errors.New("engine unavailable")
	kv.setFail(down)
	if _, created, err := New(kv, Config{}).EnsureAdmin(t.Context(), path); !errors.Is(err, down) || created {
		t.Fatalf("EnsureAdmin with engine down: created %v, %v; want the engine's error", created, err)
	}
	if data, _ := os.ReadFile(path); strings.TrimSpace(string(data)) != token {
		t.Fatal("admin key file changed while the engine was down")
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (os.ModePerm | os.ModeDir); got != want {
		t.Fatalf("%s has mode %v, want %v", path, got, want)
	}
}
