package terso

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/dialect"
)

// adminMaxBody bounds an admin request body.
const adminMaxBody = 64 << 10

// decodeBody decodes a JSON admin body strictly: unknown fields are a
// mistake an operator wants to hear about.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return invalid("request", "The body could not be read.")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("request", clip(err.Error()))
	}
	if dec.More() {
		return invalid("request", "The body has data after its JSON value.")
	}
	return nil
}

// postUser handles POST /v1/jetstream/users: 201 with the new user and its
// access key, shown only here.
func (a *API) postUser(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	var spec UserSpec
	if err := decodeBody(r, &spec); err != nil {
		return err
	}
	u, err := a.createUser(r.Context(), spec)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// getUsers handles GET /v1/jetstream/users: every user with the state of
// its subscription.
func (a *API) getUsers(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	users, err := a.listUsers(r.Context())
	if err != nil {
		return err
	}
	subs, err := a.core.Cursors.List(r.Context(), Dialect+".")
	if err != nil {
		return err
	}
	byID := make(map[string]cursor.State, len(subs))
	for _, st := range subs {
		byID[st.ID] = st
	}
	for i := range users {
		if st, ok := byID[subscriptionID(users[i].ID)]; ok {
			users[i].Subscribed, users[i].Acked = true, st.Acked
			last := st.LastActive
			users[i].LastActive = &last
			if users[i].Pending, err = a.core.Cursors.Pending(r.Context(), st, maxPendingCount); err != nil {
				return err
			}
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Users []User `json:"users"`
	}{users})
	return nil
}

// deleteUser handles DELETE /v1/jetstream/users/{id}: the key is revoked
// and the subscription dropped.
func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, _ *dialect.Request) error {
	if err := a.removeUser(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
