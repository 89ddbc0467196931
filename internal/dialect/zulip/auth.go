package zulip

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
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
	if err != nil || k.Meta["email"] == "" || !validRealm(k.Meta["realm"]) {
		return nil, false
	}
	return &user{ID: id, Email: k.Meta["email"], FullName: k.Meta["full_name"], Realm: k.Meta["realm"],
		KeyID: k.ID, key: k}, true
}

type userHandler func(http.ResponseWriter, *http.Request, *user) error

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

// guardSpec: HTTP Basic email:api_key, where the key must be a Zulip
// user's and the email that user's (a key never speaks for another user).
func (a *API) guardSpec() dialect.GuardSpec {
	return dialect.GuardSpec{
		Dialect: dialectName,
		Credential: func(r *http.Request) (string, error) {
			_, apiKey, err := basicCredentials(r)
			if err != nil {
				return "", err
			}
			if _, _, err := auth.ParseToken(apiKey); err != nil {
				return "", invalidAPIKey("Malformed API key")
			}
			return apiKey, nil
		},
		Admit: func(r *http.Request, k *auth.Key) error {
			email, _, _ := basicCredentials(r)
			if u, ok := userFromKey(k); !ok || !strings.EqualFold(u.Email, email) {
				return invalidAPIKey("Invalid API key")
			}
			return nil
		},
		Render:  renderProblem,
		MaxBody: MaxBody,
	}
}

// authenticated guards a handler that acts as the request's Zulip user.
func (a *API) authenticated(h userHandler) http.Handler {
	return a.guard.Handle(func(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
		u, _ := userFromKey(req.Key) // Admit checked it
		return h(w, r, u)
	})
}
