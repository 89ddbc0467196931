// Package faultapi serves the fault rules over HTTP: POST, GET and DELETE
// /v1/faults[/{id}], for an admin key, in herald's native shape.
package faultapi

import (
	"io"
	"net/http"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/faults"
)

// MaxBody bounds a rule's request body.
const MaxBody = 64 << 10

// api serves the core's fault rules.
type api struct {
	store *faults.Store
}

// Mount registers the routes on mux. They are admin endpoints, and like
// every admin endpoint never suffer a fault themselves: a rule can always
// be cleared.
func Mount(mux *http.ServeMux, core *dialect.Core) {
	a := &api{store: core.Faults}
	g := core.AdminGuard(MaxBody)
	mux.Handle("POST /v1/faults", g.Handle(a.add))
	mux.Handle("GET /v1/faults", g.Handle(a.list))
	mux.Handle("DELETE /v1/faults", g.Handle(a.clear))
	mux.Handle("GET /v1/faults/{id}", g.Handle(a.get))
	mux.Handle("DELETE /v1/faults/{id}", g.Handle(a.delete))
	g.MethodNotAllowed(mux, map[string]string{
		"/v1/faults":      "GET, POST, DELETE",
		"/v1/faults/{id}": "GET, DELETE",
	})
}

// List is the answer of GET /v1/faults.
type List struct {
	Faults []faults.Rule `json:"faults"`
}

// Cleared is the answer of DELETE /v1/faults.
type Cleared struct {
	Deleted int `json:"deleted"`
}

func (a *api) add(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	spec, err := faults.ParseSpec(body)
	if err != nil {
		return err
	}
	rule, err := a.store.Add(r.Context(), spec)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/faults/"+rule.ID)
	dialect.WriteJSON(w, http.StatusCreated, rule)
	return nil
}

func (a *api) list(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	rules, err := a.store.List(r.Context())
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, List{Faults: rules})
	return nil
}

func (a *api) get(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	rule, err := a.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, rule)
	return nil
}

func (a *api) delete(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	if err := a.store.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) clear(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	n, err := a.store.Clear(r.Context())
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, Cleared{Deleted: n})
	return nil
}
