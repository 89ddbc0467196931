package native

import (
	"net/http"
	"time"

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

// keyView is a key as GET /v1/keys lists it: with when the answering node
// last authenticated it (absent if it has not since it started).
type keyView struct {
	auth.Key
	LastUsed *time.Time `json:"last_used,omitempty"`
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	keys, err := a.core.Auth.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]keyView, len(keys))
	for i, k := range keys {
		out[i].Key = k
		if u := a.core.Auth.LastUsed(k.ID); !u.IsZero() {
			out[i].LastUsed = &u
		}
	}
	dialect.WriteJSON(w, http.StatusOK, struct {
		Keys []keyView `json:"keys"`
	}{out})
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
