package plex

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
)

// TokenRequest is the body of POST /v1/plex/tokens.
type TokenRequest struct {
	Name string  `json:"name"`
	Rate float64 `json:"rate,omitempty"` // requests per second; 0 = the server's default
}

// TokenResponse carries the new token: the only time it is ever shown.
type TokenResponse struct {
	auth.Key
	Token string `json:"token"`
}

// createToken handles POST /v1/plex/tokens: a herald key for the Plex
// dialect that may read every Plex notification and publish nothing.
func (a *API) createToken(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	var req TokenRequest
	if err := decodeStrict(r, &req); err != nil && !errors.Is(err, io.EOF) {
		return dialect.Errorf(dialect.BadRequest, "body: %v", err)
	}
	if req.Name == "" {
		req.Name = "plex"
	}
	k, token, err := a.core.Auth.Create(r.Context(), auth.Spec{
		Name: req.Name, Dialect: Dialect, Subscribe: []string{TopicPrefix + ">"}, Rate: req.Rate,
	})
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusCreated, TokenResponse{Key: k, Token: token})
	return nil
}

// TokenList is the answer of GET /v1/plex/tokens.
type TokenList struct {
	Tokens []auth.Key `json:"tokens"`
}

// listTokens handles GET /v1/plex/tokens: the keys made for Plex clients.
func (a *API) listTokens(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	keys, err := a.core.Auth.List(r.Context())
	if err != nil {
		return err
	}
	out := TokenList{Tokens: []auth.Key{}}
	for _, k := range keys {
		if k.Dialect == Dialect {
			out.Tokens = append(out.Tokens, k)
		}
	}
	dialect.WriteJSON(w, http.StatusOK, out)
	return nil
}

// revokeToken handles DELETE /v1/plex/tokens/{id}: 204 once the token no
// longer authenticates.
func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	id := r.PathValue("id")
	k, err := a.core.Auth.Get(r.Context(), id)
	if err == nil && k.Dialect != Dialect {
		// A native or another dialect's key is not revoked through Plex's API.
		err = auth.ErrNotFound
	}
	if err == nil {
		err = a.core.Auth.Revoke(r.Context(), id)
	}
	if errors.Is(err, auth.ErrNotFound) {
		return fmt.Errorf("no Plex token has the id %q: %w", id, err)
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
