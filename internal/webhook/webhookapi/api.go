// Package webhookapi serves webhooks over HTTP, in herald's native shape:
// outbound endpoints at /v1/webhooks[/{id}[/attempts|/replay]] for a key
// whose read scope covers their topics (each key sees its own, an admin
// all), inbound hooks' definitions at /v1/hooks[/{name}] for an admin, and
// the hooks themselves at POST /v1/hooks/{name}, where the sender's
// signature is the credential.
package webhookapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/webhook"
)

// MaxBody bounds a definition's request body.
const MaxBody = 64 << 10

type api struct {
	svc   *webhook.Service
	admin *dialect.Guard
}

// Mount registers the routes on mux.
func Mount(mux *http.ServeMux, core *dialect.Core, svc *webhook.Service) {
	a := &api{svc: svc, admin: core.AdminGuard(MaxBody)}
	g := core.Guard(dialect.GuardSpec{Credential: credential, MaxBody: MaxBody})
	mux.Handle("POST /v1/webhooks", g.Handle(a.create))
	mux.Handle("GET /v1/webhooks", g.Handle(a.list))
	mux.Handle("GET /v1/webhooks/{id}", g.Handle(a.get))
	mux.Handle("PATCH /v1/webhooks/{id}", g.Handle(a.update))
	mux.Handle("DELETE /v1/webhooks/{id}", g.Handle(a.delete))
	mux.Handle("GET /v1/webhooks/{id}/attempts", g.Handle(a.attempts))
	mux.Handle("POST /v1/webhooks/{id}/replay", g.Handle(a.replay))
	mux.Handle("POST /v1/hooks", a.admin.Handle(a.createHook))
	mux.Handle("GET /v1/hooks", a.admin.Handle(a.listHooks))
	mux.Handle("GET /v1/hooks/{name}", a.admin.Handle(a.getHook))
	mux.Handle("DELETE /v1/hooks/{name}", a.admin.Handle(a.deleteHook))
	mux.HandleFunc("POST /v1/hooks/{name}", a.receive)
	g.MethodNotAllowed(mux, map[string]string{
		"/v1/webhooks":               "GET, POST",
		"/v1/webhooks/{id}":          "GET, PATCH, DELETE",
		"/v1/webhooks/{id}/attempts": "GET",
		"/v1/webhooks/{id}/replay":   "POST",
		"/v1/hooks":                  "GET, POST",
		"/v1/hooks/{name}":           "GET, POST, DELETE",
	})
}

func credential(r *http.Request) (string, error) {
	if t := auth.BearerToken(r); t != "" {
		return t, nil
	}
	return "", dialect.Errorf(dialect.Unauthorized, "a key is required: Authorization: Bearer <key>")
}

// List is the answer of GET /v1/webhooks.
type List struct {
	Webhooks []webhook.View `json:"webhooks"`
}

// Attempts is the answer of GET /v1/webhooks/{id}/attempts, newest first.
type Attempts struct {
	Attempts []webhook.Attempt `json:"attempts"`
}

// ReplayRequest is the body of POST /v1/webhooks/{id}/replay.
type ReplayRequest struct {
	After *uint64 `json:"after"`
}

// Hooks is the answer of GET /v1/hooks.
type Hooks struct {
	Hooks []webhook.Hook `json:"hooks"`
}

func (a *api) create(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	spec, err := readSpec(r)
	if err != nil {
		return err
	}
	c, err := a.svc.Create(r.Context(), req.Key, spec)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/webhooks/"+c.ID)
	dialect.WriteJSON(w, http.StatusCreated, c)
	return nil
}

func readSpec(r *http.Request) (webhook.Spec, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return webhook.Spec{}, err
	}
	return webhook.ParseSpec(body)
}

func (a *api) list(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	l, err := a.svc.List(r.Context(), req.Key)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, List{Webhooks: l})
	return nil
}

func (a *api) get(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	v, err := a.svc.Get(r.Context(), req.Key, r.PathValue("id"))
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *api) update(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	spec, err := readSpec(r)
	if err != nil {
		return err
	}
	c, err := a.svc.Update(r.Context(), req.Key, r.PathValue("id"), spec)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, c)
	return nil
}

func (a *api) delete(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	if err := a.svc.Delete(r.Context(), req.Key, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) attempts(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	st, err := a.svc.State(r.Context(), req.Key, r.PathValue("id"))
	if err != nil {
		return err
	}
	out := make([]webhook.Attempt, 0, len(st.Attempts))
	for i := len(st.Attempts) - 1; i >= 0; i-- {
		out = append(out, st.Attempts[i])
	}
	dialect.WriteJSON(w, http.StatusOK, Attempts{Attempts: out})
	return nil
}

func (a *api) replay(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	var body ReplayRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.After == nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return dialect.Errorf(dialect.BadRequest, `the body is {"after": <position>}`)
	}
	v, err := a.svc.Replay(r.Context(), req.Key, r.PathValue("id"), *body.After)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, v)
	return nil
}
