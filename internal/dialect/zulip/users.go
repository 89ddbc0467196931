package zulip

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// memberJSON is a user as Zulip's users endpoints and realm_user show it.
func memberJSON(u *userRecord) map[string]any {
	return map[string]any{
		"user_id": u.UserID, "email": u.Email, "delivery_email": u.Email, "full_name": u.FullName,
		"is_bot": u.IsBot, "is_active": true, "is_admin": false, "is_owner": false, "is_guest": false,
		"role": 400, "avatar_url": nil, "avatar_version": 1, "timezone": "", "date_joined": u.Created.UTC().Format(time.RFC3339),
		"is_billing_admin": false, "profile_data": map[string]any{},
	}
}

// streamJSON is a stream as Zulip's streams endpoint shows it.
func streamJSON(s *streamRecord) map[string]any {
	var first any // null: no message
	if s.FirstMessageID != 0 {
		first = s.FirstMessageID
	}
	return map[string]any{
		"stream_id": s.StreamID, "name": s.Name, "description": s.Description,
		"rendered_description": renderMarkdown(s.Description), "invite_only": false, "is_web_public": false,
		"history_public_to_subscribers": true, "date_created": s.Created.Unix(), "first_message_id": first,
		"stream_post_policy": 1, "message_retention_days": nil, "is_announcement_only": false,
		"is_archived": false,
	}
}

// subscriptionJSON is a stream as the user's subscription.
func subscriptionJSON(s *streamRecord) map[string]any {
	m := streamJSON(s)
	m["color"], m["pin_to_top"], m["is_muted"], m["in_home_view"] = "#76ce90", false, false, true
	m["desktop_notifications"], m["audible_notifications"], m["push_notifications"] = nil, nil, nil
	m["email_notifications"], m["wildcard_mentions_notify"] = nil, nil
	return m
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request, u *user) error {
	users, err := a.users(r.Context(), u.Realm)
	if err != nil {
		return err
	}
	members := make([]map[string]any, len(users))
	for i := range users {
		members[i] = memberJSON(&users[i])
	}
	writeSuccess(w, map[string]any{"members": members})
	return nil
}

func (a *API) getOwnUser(w http.ResponseWriter, r *http.Request, u *user) error {
	rec, _, err := a.getUser(r.Context(), u.Email)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		err = invalidAPIKey("Invalid API key") // removed meanwhile
	}
	if err != nil {
		return err
	}
	writeSuccess(w, memberJSON(&rec))
	return nil
}

func (a *API) listStreams(w http.ResponseWriter, r *http.Request, u *user) error {
	streams, err := a.clientStreams(r.Context(), u.Realm)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(streams))
	for i := range streams {
		out[i] = streamJSON(&streams[i])
	}
	writeSuccess(w, map[string]any{"streams": out})
	return nil
}

func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request, u *user) error {
	streams, err := a.clientStreams(r.Context(), u.Realm)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(streams))
	for i := range streams {
		out[i] = subscriptionJSON(&streams[i])
	}
	writeSuccess(w, map[string]any{"subscriptions": out})
	return nil
}

// AddUserRequest is the body of POST /v1/zulip/users.
type AddUserRequest struct {
	Email    string `json:"email"`
	FullName string `json:"full_name"`
	Realm    string `json:"realm"` // default: the configured default realm
	Bot      bool   `json:"bot"`
}

// UserView is a Zulip user as the admin endpoints show it; APIKey is set
// only in the answer to its creation (herald keeps only a hash).
type UserView struct {
	UserID   int64     `json:"user_id"`
	Email    string    `json:"email"`
	FullName string    `json:"full_name"`
	Realm    string    `json:"realm"`
	Bot      bool      `json:"bot"`
	KeyID    string    `json:"key_id"`
	Created  time.Time `json:"created"`
	APIKey   string    `json:"api_key,omitempty"`
}

func viewOf(u *userRecord) UserView {
	return UserView{UserID: u.UserID, Email: u.Email, FullName: u.FullName, Realm: u.Realm, Bot: u.IsBot,
		KeyID: u.KeyID, Created: u.Created}
}

// decodeAdmin decodes a strict JSON body of an admin request.
func decodeAdmin(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err == nil {
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil, errors.As(err, &tooBig):
		return err
	}
	return dialect.Errorf(dialect.BadRequest, "body: %v", err)
}

// exists is an admin request for a name that is taken (409 exists).
func exists(msg string) error {
	return &dialect.Problem{Kind: dialect.Conflict, Code: "exists", Message: msg}
}

// validName checks a full name or stream name.
func validName(s string, maxLen int) bool {
	return s != "" && utf8.ValidString(s) && utf8.RuneCountInString(s) <= maxLen &&
		strings.IndexFunc(s, unicode.IsControl) < 0 && strings.TrimSpace(s) == s
}

// adminAddUser handles POST /v1/zulip/users: a user and their API key (a
// herald key for the dialect), indexed by email.
func (a *API) adminAddUser(w http.ResponseWriter, r *http.Request) error {
	var req AddUserRequest
	if err := decodeAdmin(r, &req); err != nil {
		return err
	}
	givenRealm := req.Realm
	if req.Realm == "" {
		req.Realm = a.cfg.DefaultRealm
	}
	addr, err := mail.ParseAddress(req.Email)
	switch {
	case err != nil || addr.Address != req.Email || len(req.Email) > 254:
		return dialect.Errorf(dialect.BadRequest, "email must be a plain address like bot@example.com")
	case !validName(req.FullName, 100):
		return dialect.Errorf(dialect.BadRequest, "full_name is required (at most 100 characters, no control characters)")
	case !validRealm(req.Realm):
		return dialect.Errorf(dialect.BadRequest, "realm must be letters, digits, '-' and '_' (at most 63)")
	}
	ctx := r.Context()
	if rec, rev, err := a.getUser(ctx, req.Email); err == nil {
		if rec.KeyID == "" { // made by its connector, waiting for its key
			return a.claimMirrored(w, r, rec, rev, givenRealm)
		}
		return exists("a user with email " + req.Email + " exists")
	}
	id, err := a.nextID(ctx, "user_id")
	if err != nil {
		return err
	}
	rec := userRecord{UserID: id, Email: req.Email, FullName: req.FullName, Realm: req.Realm, IsBot: req.Bot}
	k, token, err := a.createKey(ctx, rec)
	if err != nil {
		return err
	}
	rec.KeyID, rec.Created = k.ID, k.Created
	if err := a.createUser(ctx, rec); err != nil {
		// Lost a race for the email: the key must not outlive its user.
		if rerr := a.core.Auth.Revoke(context.WithoutCancel(ctx), k.ID); rerr != nil {
			a.core.Logger.Warn("zulip: revoke orphan key", "id", k.ID, "err", rerr)
		}
		if errors.Is(err, errExists) {
			return exists("a user with email " + req.Email + " exists")
		}
		return err
	}
	if _, err := a.publish(ctx, rec.Realm, "realm_user", map[string]any{
		"type": "realm_user", "op": "add", "person": memberJSON(&rec),
	}); err != nil {
		a.core.Logger.Warn("zulip: realm_user event", "err", err)
	}
	v := viewOf(&rec)
	v.APIKey = token
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// createKey makes the herald key of user rec: for the dialect, in its
// realm, with who it is in its meta (see userFromKey).
func (a *API) createKey(ctx context.Context, rec userRecord) (auth.Key, string, error) {
	return a.core.Auth.Create(ctx, auth.Spec{
		Name: "zulip " + rec.Email, Dialect: dialectName,
		Publish: []string{"zulip." + rec.Realm + ".>"}, Subscribe: []string{"zulip." + rec.Realm + ".>"},
		Meta: map[string]string{"email": rec.Email, "user_id": strconv.FormatInt(rec.UserID, 10),
			"full_name": rec.FullName, "realm": rec.Realm},
	})
}

func (a *API) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	users, err := a.users(r.Context(), r.URL.Query().Get("realm"))
	if err != nil {
		return err
	}
	out := make([]UserView, len(users))
	for i := range users {
		out[i] = viewOf(&users[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
	return nil
}

// adminRemoveUser handles DELETE /v1/zulip/users/{email}: the key is
// revoked (the user's requests fail from now on), then the index entry goes.
func (a *API) adminRemoveUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	email := r.PathValue("email")
	rec, rev, err := a.getUser(ctx, email)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return dialect.Errorf(dialect.NotFound, "%s", "no user with email "+email)
	}
	if err != nil {
		return err
	}
	if rec.KeyID != "" { // a mirrored identity's user may have none yet
		if err := a.core.Auth.Revoke(ctx, rec.KeyID); err != nil && !errors.Is(err, auth.ErrNotFound) {
			return err
		}
	}
	if err := a.kv.Delete(ctx, userKey(email), rev); err != nil && !errors.Is(err, eventlog.ErrKeyNotFound) {
		return err
	}
	if _, err := a.publish(ctx, rec.Realm, "realm_user", map[string]any{
		"type": "realm_user", "op": "remove", "person": map[string]any{"user_id": rec.UserID, "full_name": rec.FullName},
	}); err != nil {
		a.core.Logger.Warn("zulip: realm_user event", "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
