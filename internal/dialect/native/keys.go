package native

import (
	"net/http"

	"github.com/herald-io/herald/internal/auth"
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

func (a *API) createKey(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
	var req createKeyRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		writeErr(w, err)
		return
	}
	k, token, err := a.core.Auth.Create(r.Context(), auth.Spec{
		Name: req.Name, Publish: req.Publish, Subscribe: req.Subscribe, Admin: req.Admin, Rate: req.Rate,
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, createKeyResponse{Key: k, Token: token})
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
	keys, err := a.core.Auth.List(r.Context())
	if err != nil {
		writeErr(w, err)
		return
	}
	if keys == nil {
		keys = []auth.Key{}
	}
	writeJSON(w, http.StatusOK, struct {
		Keys []auth.Key `json:"keys"`
	}{keys})
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, k *auth.Key) {
	id := r.PathValue("id")
	if id == k.ID {
		writeError(w, http.StatusBadRequest, "bad_request", "a key cannot revoke itself")
		return
	}
	if err := a.core.Auth.Revoke(r.Context(), id); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
