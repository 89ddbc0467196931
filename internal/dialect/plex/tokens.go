package plex

import (
	"errors"
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
