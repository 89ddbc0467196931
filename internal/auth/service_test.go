package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// startService returns a started Service on kv, closed when the test ends.
func startService(t *testing.T, kv eventlog.KV, cfg Config) *Service {
	t.Helper()
	s := New(kv, cfg)
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func mustCreate(t *testing.T, s *Service, spec Spec) (Key, string) {
	t.Helper()
	k, token, err := s.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create(%+v): %v", spec, err)
	}
	return k, token
}

// eventually polls cond until it holds or five seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCreateAuthenticateRevoke(t *testing.T) {
	ctx := t.Context()
	s := startService(t, newMemKV(), Config{})
	spec := Spec{
		Name:      "door sensor",
		Publish:   []string{"app.door.*"},
		Subscribe: []string{"app.>"},
		Dialect:   "zulip",
		Meta:      map[string]string{"email": "bot@example.com"},
		Rate:      5,
	}
	k, token, err := s.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !validID(k.ID) {
		t.Errorf("id %q is not 16 lowercase hex characters", k.ID)
	}
	if id, _, err := ParseToken(token); err != nil || id != k.ID {
		t.Fatalf("token %q: id %q, %v; want id %q", token, id, err, k.ID)
	}

	got, err := s.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if got.ID != k.ID || got.Name != "door sensor" || got.Dialect != "zulip" || got.Meta["email"] != "bot@example.com" ||
		got.Rate != 5 || got.Admin || got.Created.IsZero() {
		t.Errorf("authenticated key %+v does not match the spec", got)
	}

	stored, err := s.Get(ctx, k.ID)
	if err != nil || stored.ID != k.ID || stored.Name != k.Name || len(stored.Publish) != 1 {
		t.Fatalf("Get: %+v, %v", stored, err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != k.ID {
		t.Fatalf("List: %+v, %v", list, err)
	}

	if err := s.Revoke(ctx, k.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := s.Authenticate(ctx, token); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Authenticate after Revoke: %v, want ErrUnauthorized", err)
	}
	if _, err := s.Get(ctx, k.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Revoke: %v, want ErrNotFound", err)
	}
	if err := s.Revoke(ctx, k.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Revoke: %v, want ErrNotFound", err)
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Fatalf("List after Revoke: %+v", list)
	}
}

func TestAuthenticateRejects(t *testing.T) {
	ctx := t.Context()
	s := startService(t, newMemKV(), Config{})
	k, token := mustCreate(t, s, Spec{Name: "a", Publish: []string{">"}})
	revoked, revokedToken := mustCreate(t, s, Spec{Name: "b"})
	if err := s.Revoke(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	_, secret, _ := ParseToken(token)
	flip := []byte(secret)
	flip[0] ^= 'a' ^ 'b' // still alphanumeric, different secret
	if flip[0] == secret[0] {
		t.Fatal("test bug: secret unchanged")
	}

	tests := []struct{ name, token string }{
		{"empty", ""},
		{"wrong secret", formatToken(k.ID, string(flip))},
		{"other key's secret", formatToken(k.ID, revokedToken[len(revokedToken)-secretLen:])},
		{"unknown id", formatToken("0123456789abcdef", secret)},
		{"revoked", revokedToken},
		{"uppercase id", formatToken(strings.ToUpper(k.ID), secret)},
		{"missing prefix", strings.TrimPrefix(token, "hk_")},
		{"wrong prefix", "hx_" + token[3:]},
		{"truncated", token[:len(token)-1]},
		{"extended", token + "A"},
		{"bearer included", "Bearer " + token},
		{"space padded", " " + token},
		{"non-alphanumeric secret", formatToken(k.ID, secret[:31]+"-")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Authenticate(ctx, tt.token)
			if !errors.Is(err, ErrUnauthorized) || got != nil {
				t.Fatalf("Authenticate(%q) = %v, %v; want nil, ErrUnauthorized", tt.token, got, err)
			}
		})
	}
	// The table must not pass merely because nothing authenticates.
	if _, err := s.Authenticate(ctx, token); err != nil {
		t.Fatalf("valid token rejected: %v", err)
	}
}

func TestAuthenticateEngineDown(t *testing.T) {
	kv := newMemKV()
	a := New(kv, Config{}) // not started: every lookup goes to the engine
	_, token := mustCreate(t, New(kv, Config{}), Spec{Name: "x"})
	down := errors.New("engine unavailable")
	kv.setFail(down)
	_, err := a.Authenticate(t.Context(), token)
	if !errors.Is(err, down) || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Authenticate with engine down: %v; want the engine's error, not ErrUnauthorized", err)
	}
}

// A key created on another node works at once, before any watch delivers it.
func TestAuthenticateFallsBackToEngine(t *testing.T) {
	kv := newMemKV()
	a := New(kv, Config{})
	b := New(kv, Config{}) // never started, so it has no watch
	_, token := mustCreate(t, a, Spec{Name: "x"})
	if _, err := b.Authenticate(t.Context(), token); err != nil {
		t.Fatalf("second node: %v", err)
	}
}

func TestOtherNodeSeesCreateAndRevoke(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	a := startService(t, kv, Config{})
	b := startService(t, kv, Config{})

	k, token := mustCreate(t, a, Spec{Name: "x", Subscribe: []string{">"}})
	eventually(t, "node b's watch delivers the new key", func() bool { return b.cached(k.ID) != nil })
	if _, err := b.Authenticate(ctx, token); err != nil {
		t.Fatalf("node b: %v", err)
	}

	if err := a.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	// Without the watch, b would keep authenticating from its cache.
	eventually(t, "node b drops the revoked key", func() bool { return b.cached(k.ID) == nil })
	if _, err := b.Authenticate(ctx, token); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("node b after revoke: %v, want ErrUnauthorized", err)
	}
}

// A revocation made while a node's watch was down is applied when the
// watch comes back and replays the bucket.
func TestRevokeDuringWatchOutage(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	a := New(kv, Config{})
	k, token := mustCreate(t, a, Spec{Name: "x"})
	keep, keepToken := mustCreate(t, a, Spec{Name: "y"})
	b := startService(t, kv, Config{})
	eventually(t, "node b watches", func() bool { return kv.watching() == 1 })

	kv.setNoWatch(errors.New("connection lost"))
	kv.breakWatches(errors.New("connection lost"))
	eventually(t, "node b's watch ends", func() bool { return kv.watching() == 0 })
	if err := a.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if b.cached(k.ID) == nil {
		t.Fatal("test bug: node b forgot the key without a watch")
	}

	kv.setNoWatch(nil)
	eventually(t, "node b drops the key revoked during the outage", func() bool { return b.cached(k.ID) == nil })
	if _, err := b.Authenticate(ctx, token); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("revoked key: %v", err)
	}
	if b.cached(keep.ID) == nil {
		t.Fatal("resynchronisation dropped a live key")
	}
	if _, err := b.Authenticate(ctx, keepToken); err != nil {
		t.Fatalf("live key: %v", err)
	}
}

func TestPlaintextNeverStored(t *testing.T) {
	kv := newMemKV()
	s := startService(t, kv, Config{})
	var secrets []string
	for i := range 20 {
		k, token := mustCreate(t, s, Spec{Name: "key", Admin: i%2 == 0, Publish: []string{">"}})
		_, secret, _ := ParseToken(token)
		secrets = append(secrets, secret)
		e, err := kv.Get(t.Context(), "key."+k.ID)
		if err != nil {
			t.Fatal(err)
		}
		var r record
		if err := json.Unmarshal(e.Value, &r); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(secret))
		if r.Hash != hex.EncodeToString(sum[:]) {
			t.Fatalf("stored hash %q is not the SHA-256 of the secret", r.Hash)
		}
	}
	written := kv.allWritten()
	if len(written) != len(secrets) {
		t.Fatalf("%d values written, want %d", len(written), len(secrets))
	}
	for _, v := range written {
		for _, secret := range secrets {
			if bytes.Contains(v, []byte(secret)) {
				t.Fatalf("stored value contains a secret: %s", v)
			}
		}
	}
}

func TestKeyJSONOmitsHash(t *testing.T) {
	s := startService(t, newMemKV(), Config{})
	k, _ := mustCreate(t, s, Spec{Name: "x"})
	if k.Hash == "" {
		t.Fatal("Create returned no hash")
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(k.Hash)) {
		t.Fatalf("encoded key leaks its hash: %s", b)
	}
}

func TestCreateValidation(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string // in the error message
	}{
		{"no name", Spec{}, "name is required"},
		{"blank name", Spec{Name: "   "}, "name is required"},
		{"long name", Spec{Name: strings.Repeat("é", MaxNameLen+1)}, "longer than 100"},
		{"control character", Spec{Name: "a\nb"}, "control"},
		{"invalid utf-8", Spec{Name: "a\xffb"}, "UTF-8"},
		{"bad publish pattern", Spec{Name: "x", Publish: []string{"app..x"}}, "publish pattern"},
		{"empty subscribe pattern", Spec{Name: "x", Subscribe: []string{""}}, "subscribe pattern"},
		{"'>' not last", Spec{Name: "x", Subscribe: []string{"a.>.b"}}, "subscribe pattern"},
		{"too many patterns", Spec{Name: "x", Publish: make([]string, 33)}, "more than 32"},
		{"bad dialect", Spec{Name: "x", Dialect: "Zulip"}, "dialect"},
		{"negative rate", Spec{Name: "x", Rate: -1}, "rate"},
		{"empty meta key", Spec{Name: "x", Meta: map[string]string{"": "v"}}, "meta"},
		{"huge meta value", Spec{Name: "x", Meta: map[string]string{"k": strings.Repeat("v", 1025)}}, "meta"},
	}
	kv := newMemKV()
	s := startService(t, kv, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, token, err := s.Create(t.Context(), tt.spec)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) || token != "" {
				t.Fatalf("Create: token %q, %v; want ErrInvalid mentioning %q", token, err, tt.want)
			}
		})
	}
	if w := kv.allWritten(); len(w) != 0 {
		t.Fatalf("invalid specs stored %d values", len(w))
	}
	// The boundary is allowed: the table must not pass by rejecting everything.
	if _, _, err := s.Create(t.Context(), Spec{Name: strings.Repeat("é", MaxNameLen)}); err != nil {
		t.Fatalf("name of exactly %d characters: %v", MaxNameLen, err)
	}
}

func TestGetRevokeBadID(t *testing.T) {
	s := startService(t, newMemKV(), Config{})
	for _, id := range []string{"", "x", "0123456789ABCDEF", "0123456789abcdef.x", ">"} {
		if _, err := s.Get(t.Context(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", id, err)
		}
		if err := s.Revoke(t.Context(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Revoke(%q): %v, want ErrNotFound", id, err)
		}
	}
}

// A damaged record never authenticates and does not break List.
func TestDamagedRecord(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	s := startService(t, kv, Config{})
	good, _ := mustCreate(t, s, Spec{Name: "good"})
	id := "00000000000000aa"
	secret := strings.Repeat("A", secretLen)
	if _, err := kv.Put(ctx, "key."+id, []byte(`{"id":"`+id+`","name":"bad","admin":true,"sha256":""}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, formatToken(id, secret)); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("damaged record: %v, want ErrUnauthorized", err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != good.ID {
		t.Fatalf("List: %+v, %v; want only the good key", list, err)
	}
	if err := s.Revoke(ctx, id); err != nil {
		t.Fatalf("Revoke damaged record: %v", err)
	}
}

func TestStartTwice(t *testing.T) {
	s := startService(t, newMemKV(), Config{})
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
}

// A watch that is behind still delivers a key's creation after this node
// revoked it; that must not bring the key back, even for a moment.
func TestRevokeNotUndoneByLaggingWatch(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	kv.gate = make(chan struct{})
	s := New(kv, Config{})
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	step := func(what string) {
		t.Helper()
		want := kv.delivered.Load() + 1
		kv.gate <- struct{}{}
		eventually(t, what, func() bool { return kv.delivered.Load() == want })
	}
	step("end-of-replay marker delivered")

	k, token := mustCreate(t, s, Spec{Name: "x"})
	if err := s.Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	step("the key's creation delivered after its revocation")
	if s.cached(k.ID) != nil {
		t.Fatal("a lagging watch restored a revoked key")
	}
	if _, err := s.Authenticate(ctx, token); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("revoked key while the watch lags: %v, want ErrUnauthorized", err)
	}
	step("the key's deletion delivered")
	if s.isRevoked(k.ID) {
		t.Fatal("revocation still remembered after the watch delivered the deletion")
	}
	if _, err := s.Authenticate(ctx, token); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("revoked key: %v, want ErrUnauthorized", err)
	}
}

// A lookup that read a key from the engine just before another node
// revoked it must not cache it once the watch has delivered the deletion:
// the revocation would be undone on this node for good.
func TestLookupRacingRevoke(t *testing.T) {
	ctx := t.Context()
	kv := newMemKV()
	kv.gate = make(chan struct{})
	a := New(kv, Config{})
	b := New(kv, Config{})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	step := func(what string) {
		t.Helper()
		want := kv.delivered.Load() + 1
		kv.gate <- struct{}{}
		eventually(t, what, func() bool { return kv.delivered.Load() == want })
	}
	step("end-of-replay marker delivered")

	k, token := mustCreate(t, a, Spec{Name: "x"}) // b's watch holds the creation back
	kv.afterGet = func() {
		// Between the engine's answer to b and b's use of it, a revokes
		// the key and b's watch catches up with both changes.
		if err := a.Revoke(ctx, k.ID); err != nil {
			t.Error(err)
		}
		step("creation delivered")
		step("deletion delivered")
	}
	b.Authenticate(ctx, token) // may succeed: the read predates the revocation
	if b.cached(k.ID) != nil {
		t.Fatal("a key read before its revocation was cached after the watch delivered it")
	}
	if _, err := b.Authenticate(ctx, token); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("after revoke: %v, want ErrUnauthorized", err)
	}
}

func TestCreateResultIsACopy(t *testing.T) {
	s := startService(t, newMemKV(), Config{})
	k, token := mustCreate(t, s, Spec{Name: "x", Publish: []string{"app.a"}})
	k.Publish[0] = ">"
	got, err := s.Authenticate(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	if got.CanPublish("hue.x") {
		t.Fatal("modifying Create's result widened the cached key's scope")
	}
}
