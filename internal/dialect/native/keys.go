package native

import (
	"net/http"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
)

type createKeyRequest struct {
	Name      string   `json:"name"`
	Publish   []string `json:"publish"`
	Subscribe []string `json:"subscribe"`
	Admin     bool     `json:"admin"`
	Rate      float64  `json:"rate"`
}

// createKeyResponse carries the token: the only time it is ever shown.
type createKeyResponse struct {
	auth.Key
	Token string `json:"token"`
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	var req createKeyRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		return err
	}
	k, token, err := a.core.Auth.Create(r.Context(), auth.Spec{
		Name: req.Name, Publish: req.Publish, Subscribe: req.Subscribe, Admin: req.Admin, Rate: req.Rate,
	})
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusCreated, createKeyResponse{Key: k, Token: token})
	return nil
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	keys, err := a.core.Auth.List(r.Context())
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []auth.Key{}
	}
	dialect.WriteJSON(w, http.StatusOK, struct {
		Keys []auth.Key `json:"keys"`
	}{keys})
	return nil
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	id := r.PathValue("id")
	if id == req.Key.ID {
		return badRequest("a key cannot revoke itself")
	}
	if err := a.core.Auth.Revoke(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
