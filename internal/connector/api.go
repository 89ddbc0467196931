package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/lease"
)

// MaxBody bounds a connector definition.
const MaxBody = 16 << 10

// View is a connector as the API shows it: its definition without the
// secret, who runs it and what it last said.
type View struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	URL         string `json:"url"`
	Email       string `json:"email,omitempty"`
	InsecureTLS bool   `json:"insecure_tls,omitempty"`
	KeySet      bool   `json:"key_set"` // the secret is stored (never shown)
	// Node is the node holding the connector's lease: the one running it
	// ("" while none does).
	Node     string `json:"node,omitempty"`
	Position string `json:"position,omitempty"` // the upstream position, as the kind writes it
	State    State  `json:"state"`
}

// List is the answer of GET /v1/connectors.
type List struct {
	Connectors []View `json:"connectors"`
}

// Mount registers /v1/connectors[/{name}] for admin keys, answered in the
// native shape.
func (s *Service) Mount(mux *http.ServeMux) {
	g := s.core.AdminGuard(MaxBody)
	mux.Handle("POST /v1/connectors", g.Handle(s.post))
	mux.Handle("GET /v1/connectors", g.Handle(s.list))
	mux.Handle("GET /v1/connectors/{name}", g.Handle(s.get))
	mux.Handle("DELETE /v1/connectors/{name}", g.Handle(s.delete))
	g.MethodNotAllowed(mux, map[string]string{
		"/v1/connectors":        "GET, POST",
		"/v1/connectors/{name}": "GET, DELETE",
	})
}

// parseSpec decodes a definition strictly: a misspelt field is a mistake
// the operator wants to hear about, not a default.
func parseSpec(body io.Reader) (Spec, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return Spec{}, err // the guard's body limit: too large
	}
	var spec Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return Spec{}, invalid("body", "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return Spec{}, invalid("body", "must be one JSON object")
	}
	return spec, nil
}

// post handles POST /v1/connectors: 201 with a new connector, 200 with a
// replaced one (which keeps its position and counters, and its stored
// secret when none is sent).
func (s *Service) post(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	spec, err := parseSpec(r.Body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	old, rev, err := s.st.spec(ctx, spec.Name)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	case spec.Key == "":
		spec.Key = old.Key
	}
	if err := check(spec, s.kinds); err != nil {
		return err
	}
	if err := s.single(ctx, spec); err != nil {
		return err
	}
	if rev != 0 && old.Kind != spec.Kind { // another kind's position means nothing to this one
		if err := s.st.remove(ctx, spec.Name); err != nil {
			return err
		}
		rev = 0
	}
	if err := s.st.put(ctx, spec, rev); err != nil {
		return err
	}
	v, err := s.view(ctx, spec)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if rev == 0 {
		status = http.StatusCreated
		w.Header().Set("Location", "/v1/connectors/"+spec.Name)
	}
	dialect.WriteJSON(w, status, v)
	return nil
}

func (s *Service) list(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	specs, err := s.st.specs(r.Context())
	if err != nil {
		return err
	}
	out := List{Connectors: make([]View, 0, len(specs))}
	for _, spec := range specs {
		v, err := s.view(r.Context(), spec)
		if err != nil {
			return err
		}
		out.Connectors = append(out.Connectors, v)
	}
	dialect.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) get(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	spec, _, err := s.st.spec(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	v, err := s.view(r.Context(), spec)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (s *Service) delete(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	if err := s.st.remove(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// view reads what the API shows of spec: its lease's holder, its position
// and its state, each as the engine has it now.
func (s *Service) view(ctx context.Context, spec Spec) (View, error) {
	v := View{Name: spec.Name, Kind: spec.Kind, URL: spec.URL, Email: spec.Email,
		InsecureTLS: spec.InsecureTLS, KeySet: spec.Key != ""}
	h, err := s.core.Leases.Holder(ctx, defPrefix+spec.Name)
	switch {
	case err == nil:
		v.Node = h.Holder
	case !errors.Is(err, lease.ErrNotHeld):
		return View{}, err
	}
	if v.Position, err = (positions{kv: s.st.kv, name: spec.Name}).Load(ctx); err != nil {
		return View{}, err
	}
	e, err := s.st.kv.Get(ctx, statePrefix+spec.Name)
	switch {
	case err == nil:
		if err := json.Unmarshal(e.Value, &v.State); err != nil {
			s.log.Warn("connector state unreadable", "connector", spec.Name, "err", err)
		}
	case !errors.Is(err, eventlog.ErrKeyNotFound):
		return View{}, err
	}
	return v, nil
}
