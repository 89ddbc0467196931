package webhookapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/webhook"
)

func (a *api) createHook(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var spec webhook.HookSpec
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return dialect.Errorf(dialect.BadRequest, "the body is a hook: name, topic, scheme (standard, github, bearer), optional type, secret, rate")
	}
	c, err := a.svc.CreateHook(r.Context(), spec)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/hooks/"+c.Name)
	dialect.WriteJSON(w, http.StatusCreated, c)
	return nil
}

func (a *api) listHooks(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	hs, err := a.svc.Hooks(r.Context())
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, Hooks{Hooks: hs})
	return nil
}

func (a *api) getHook(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	h, err := a.svc.Hook(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, h)
	return nil
}

func (a *api) deleteHook(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	if err := a.svc.DeleteHook(r.Context(), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// receive serves a sender's request. It has no herald key: the signature
// is the credential. What an unsigned request may cost is bounded before
// the body is read (the hook exists, its rate allows it: no engine call)
// and while it is (MaxHookBody).
func (a *api) receive(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := a.svc.Admit(name); err != nil {
		a.admin.Fail(w, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.MaxHookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			err = dialect.Errorf(dialect.BadRequest, "the body did not arrive")
		}
		a.admin.Fail(w, r, err)
		return
	}
	got, err := a.svc.Receive(r.Context(), name, r.Header, body)
	if err != nil {
		a.admin.Fail(w, r, err)
		return
	}
	dialect.WriteJSON(w, http.StatusOK, got)
}
