package zulip

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/auth"
)

// user is the authenticated Zulip user of a request, from its key's meta.
type user struct {
	ID       int64
	Email    string
	FullName string
	Realm    string
	KeyID    string
	key      *auth.Key
}

// userFromKey reads a Zulip user out of a herald key made for the dialect.
func userFromKey(k *auth.Key) (*user, bool) {
	if k == nil || k.Dialect != dialectName {
		return nil, false
	}
	id, err := strconv.ParseInt(k.Meta["user_id"], 10, 64)
	if err != nil || k.Meta["email"] == "" || !realmPattern.MatchString(k.Meta["realm"]) {
		return nil, false
	}
	return &user{ID: id, Email: k.Meta["email"], FullName: k.Meta["full_name"], Realm: k.Meta["realm"],
		KeyID: k.ID, key: k}, true
}

type userHandler func(http.ResponseWriter, *http.Request, *user)

func unauthorized(msg string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: msg}
}

func invalidAPIKey(msg string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: codeInvalidAPIKey, msg: msg}
}

// basicCredentials parses "Authorization: Basic base64(email:api_key)" with
// the errors Zulip's get_basic_credentials gives.
func basicCredentials(r *http.Request) (email, apiKey string, err *apiError) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", "", unauthorized("Missing authorization header for basic auth")
	}
	scheme, cred, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", badRequest("This endpoint requires HTTP basic authentication.")
	}
	raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if derr != nil {
		return "", "", unauthorized("Invalid authorization header for basic auth")
	}
	email, apiKey, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", unauthorized("Invalid authorization header for basic auth")
	}
	return email, apiKey, nil
}

// authenticated checks HTTP Basic email:api_key, the key's rate limit, and
// bounds the body, before h runs.
func (a *API) authenticated(h userHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := a.authenticate(r)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) && ae.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="zulip"`)
			}
			writeError(w, err)
			return
		}
		if ok, retry := a.core.Auth.Allow(u.key); !ok {
			rateLimited(w, retry)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		h(w, r, u)
	})
}

func (a *API) authenticate(r *http.Request) (*user, error) {
	email, apiKey, aerr := basicCredentials(r)
	if aerr != nil {
		return nil, aerr
	}
	if _, _, err := auth.ParseToken(apiKey); err != nil {
		return nil, invalidAPIKey("Malformed API key")
	}
	k, err := a.core.Auth.Authenticate(r.Context(), apiKey)
	if errors.Is(err, auth.ErrUnauthorized) {
		return nil, invalidAPIKey("Invalid API key")
	}
	if err != nil {
		return nil, err
	}
	u, ok := userFromKey(k)
	// The email must be the key's: a key never speaks for another user.
	if !ok || !strings.EqualFold(u.Email, email) {
		return nil, invalidAPIKey("Invalid API key")
	}
	return u, nil
}

// adminOnly checks for a native admin key (Authorization: Bearer) on the
// /v1/zulip/ admin endpoints, and bounds the body.
func (a *API) adminOnly(h http.HandlerFunc) http.Handler {
	return a.core.AdminOnly(MaxBody, func(w http.ResponseWriter, r *http.Request, _ *auth.Key) { h(w, r) })
}

// rateLimited answers Zulip's 429: Retry-After as a header and, as Zulip
// clients read it, "retry-after" in the body.
func rateLimited(w http.ResponseWriter, retry time.Duration) {
	secs := int64(retry / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeError(w, &apiError{status: http.StatusTooManyRequests, code: codeRateLimited,
		msg: "API usage exceeded rate limit", data: map[string]any{"retry-after": secs}})
}
