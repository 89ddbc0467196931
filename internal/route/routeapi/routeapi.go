// Package routeapi serves routes over HTTP: /v1/routes[/{name}] and their
// tests, for an admin key, in herald's native shape.
package routeapi

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/route"
)

// MaxBody bounds a route's request body.
const MaxBody = 64 << 10

type api struct{ routes *route.Runner }

// Mount registers the routes' endpoints on mux.
func Mount(mux *http.ServeMux, core *dialect.Core, routes *route.Runner) {
	a := &api{routes: routes}
	g := core.AdminGuard(MaxBody)
	mux.Handle("POST /v1/routes", g.Handle(a.add))
	mux.Handle("GET /v1/routes", g.Handle(a.list))
	mux.Handle("GET /v1/routes/{name}", g.Handle(a.get))
	mux.Handle("PUT /v1/routes/{name}", g.Handle(a.replace))
	mux.Handle("DELETE /v1/routes/{name}", g.Handle(a.remove))
	mux.Handle("POST /v1/routes/{name}/test", g.Handle(a.testStored))
	g.MethodNotAllowed(mux, map[string]string{
		"/v1/routes":             "GET, POST",
		"/v1/routes/{name}":      "GET, PUT, DELETE",
		"/v1/routes/{name}/test": "POST",
	})
}

// List is the answer of GET /v1/routes.
type List struct {
	Routes []route.Status `json:"routes"`
}

// TestRequest is the body of POST /v1/routes/{name}/test: the stored
// route {name} is tested on event Seq, or Route if given (not stored).
type TestRequest struct {
	Route *route.Spec `json:"route,omitempty"`
	Seq   uint64      `json:"seq"`
}

func readSpec(r *http.Request) (route.Spec, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return route.Spec{}, err
	}
	return route.ParseSpec(body)
}

func (a *api) add(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	spec, err := readSpec(r)
	if err != nil {
		return err
	}
	st, err := a.routes.Add(r.Context(), spec)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/routes/"+st.Name)
	dialect.WriteJSON(w, http.StatusCreated, st)
	return nil
}

func (a *api) replace(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	spec, err := readSpec(r)
	if err != nil {
		return err
	}
	if spec.Name == "" {
		spec.Name = r.PathValue("name")
	}
	if spec.Name != r.PathValue("name") {
		return dialect.Errorf(dialect.BadRequest, "name %q in the body is not the route's %q", spec.Name, r.PathValue("name"))
	}
	st, err := a.routes.Replace(r.Context(), spec)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (a *api) list(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	rs, err := a.routes.List(r.Context())
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, List{Routes: rs})
	return nil
}

func (a *api) get(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	st, err := a.routes.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (a *api) remove(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	if err := a.routes.Remove(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func readTest(r *http.Request) (TestRequest, error) {
	var t TestRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, dialect.Errorf(dialect.BadRequest, "body: {\"seq\": N} (and \"route\" for an unsaved route): %v", err)
	}
	if t.Seq == 0 {
		return t, dialect.Errorf(dialect.BadRequest, "seq: the stored event to test the route on")
	}
	return t, nil
}

func (a *api) testStored(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	t, err := readTest(r)
	if err != nil {
		return err
	}
	var spec route.Spec
	if t.Route != nil { // a route not stored (yet): the name is its label
		spec = *t.Route
	} else {
		st, err := a.routes.Get(r.Context(), r.PathValue("name"))
		if err != nil {
			return err
		}
		spec = st.Spec
	}
	res, err := a.routes.Test(r.Context(), spec, t.Seq)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, res)
	return nil
}
