package plex

import (
	"testing"

	"github.com/herald-io/herald/internal/auth"
)

// Tokens are listed and revoked through the Plex admin API: only Plex
// tokens, never another dialect's keys or the admin key.
func TestListAndRevokeTokens(t *testing.T) {
	e := newEnv(t, Config{})
	var made TokenResponse
	if s := e.post("/v1/plex/tokens", e.admin, `{"name":"tautulli"}`, &made); s != 201 {
		t.Fatalf("create: %d", s)
	}
	native := e.core.Key(t, auth.Spec{Name: "native", Subscribe: []string{">"}})
	nativeID, _, _ := auth.ParseToken(native)

	var list TokenList
	if s := e.call("GET", "/v1/plex/tokens", e.admin, "", &list); s != 200 {
		t.Fatalf("list: %d", s)
	}
	names := map[string]string{}
	for _, k := range list.Tokens {
		if k.Dialect != Dialect {
			t.Errorf("listed a %q key %s", k.Dialect, k.ID)
		}
		names[k.ID] = k.Name
	}
	if len(list.Tokens) != 2 || names[made.ID] != "tautulli" {
		t.Fatalf("listed %+v; want the setup's token and tautulli", list.Tokens)
	}

	var problem struct{ Error struct{ Code string } }
	if s := e.call("DELETE", "/v1/plex/tokens/"+nativeID, e.admin, "", &problem); s != 404 || problem.Error.Code != "not_found" {
		t.Fatalf("revoke a native key as a Plex token: %d %+v", s, problem)
	}
	if _, err := e.core.Auth.Authenticate(t.Context(), native); err != nil {
		t.Fatalf("the native key is gone: %v", err)
	}
	if s := e.call("DELETE", "/v1/plex/tokens/"+made.ID, made.Token, "", nil); s != 403 {
		t.Fatalf("revoke with a Plex token: %d", s)
	}
	if s := e.call("DELETE", "/v1/plex/tokens/"+made.ID, e.admin, "", nil); s != 204 {
		t.Fatalf("revoke: %d", s)
	}
	if _, err := e.core.Auth.Authenticate(t.Context(), made.Token); err == nil {
		t.Fatal("the revoked token still authenticates")
	}
	if s := e.call("DELETE", "/v1/plex/tokens/"+made.ID, e.admin, "", &problem); s != 404 {
		t.Fatalf("revoke twice: %d", s)
	}
	if s := e.call("GET", "/v1/plex/tokens", e.admin, "", &list); s != 200 || len(list.Tokens) != 1 {
		t.Fatalf("after revoke: %d %+v", s, list.Tokens)
	}
}
