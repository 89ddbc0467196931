package zulip

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
)

// user is the authenticated Zulip user of a request, from its key's meta.
// One is shared by every request of its key (keyUsers): read only.
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

// keyUsers keeps the user read out of each key, so that a request does
// not read its key's meta again. A key is an immutable record, and the
// key service hands out one *auth.Key per record it caches (a record read
// again is a new one), so an entry is valid for the very key it was read
// from. It caches nothing secret and decides nothing: each request's key
// is still authenticated by the service (its token hashed and compared,
// a revoked key refused) before its user is looked up here.
type keyUsers struct {
	mu       sync.RWMutex
	cur, old map[string]*user // by key id, in two generations (see metaCache)
	limit    int
}

// keyUsersEntries bounds the users a process keeps read (a hundred bytes
// or so each); past it, the keys used least recently read theirs again.
const keyUsersEntries = 1 << 14

func newKeyUsers(limit int) *keyUsers {
	return &keyUsers{cur: map[string]*user{}, limit: limit}
}

// of returns k's user; false if k is not a Zulip user's key.
func (c *keyUsers) of(k *auth.Key) (*user, bool) {
	if k == nil {
		return nil, false
	}
	c.mu.RLock()
	u := c.cur[k.ID]
	c.mu.RUnlock()
	if u != nil && u.key == k {
		return u, true
	}
	c.mu.Lock()
	if u = c.old[k.ID]; u != nil && u.key == k {
		c.putLocked(u)
	}
	c.mu.Unlock()
	if u != nil && u.key == k {
		return u, true
	}
	u, ok := userFromKey(k)
	if !ok {
		return nil, false
	}
	c.mu.Lock()
	c.putLocked(u)
	c.mu.Unlock()
	return u, true
}

func (c *keyUsers) putLocked(u *user) {
	if len(c.cur) >= c.limit/2 {
		c.old, c.cur = c.cur, map[string]*user{}
	}
	c.cur[u.KeyID] = u
}

type userHandler func(http.ResponseWriter, *http.Request, *user) error

func unauthorized(msg string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, msg: msg}
}

func invalidAPIKey(msg string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: codeInvalidAPIKey, msg: msg}
}

// basicBuf holds a decoded Basic credential: an email and an API key fit
// (a longer credential is decoded on the heap).
type basicBuf [256]byte

// basicCredentials parses "Authorization: Basic base64(email:api_key)" with
// the errors Zulip's get_basic_credentials gives, decoding into buf.
func basicCredentials(r *http.Request, buf *basicBuf) (email, apiKey []byte, err *apiError) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return nil, nil, unauthorized("Missing authorization header for basic auth")
	}
	scheme, cred, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return nil, nil, badRequest("This endpoint requires HTTP basic authentication.")
	}
	cred = strings.TrimSpace(cred)
	raw := buf[:]
	if n := base64.StdEncoding.DecodedLen(len(cred)); n > len(raw) {
		raw = make([]byte, n)
	}
	n, derr := base64.StdEncoding.Decode(raw, []byte(cred))
	if derr != nil {
		return nil, nil, unauthorized("Invalid authorization header for basic auth")
	}
	raw = raw[:n]
	for i, c := range raw {
		if c == ':' {
			return raw[:i], raw[i+1:], nil
		}
	}
	return nil, nil, unauthorized("Invalid authorization header for basic auth")
}

// basicEmail is the email of r's Basic credentials ("" if none).
func basicEmail(r *http.Request) string {
	var buf basicBuf
	email, _, _ := basicCredentials(r, &buf)
	return string(email)
}

// sameEmail reports whether a user's email and one sent match, in any case
// (strings.EqualFold), without converting what was sent.
func sameEmail(s string, b []byte) bool {
	if len(s) != len(b) {
		return strings.EqualFold(s, string(b)) // Unicode folds may differ in length
	}
	for i := range len(b) {
		x, y := s[i], b[i]
		if x >= 0x80 || y >= 0x80 {
			return strings.EqualFold(s, string(b))
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// guardSpec: HTTP Basic email:api_key, where the key must be a Zulip
// user's and the email that user's (a key never speaks for another user).
// The guard asks for the secret and then admits the key it belongs to, so
// the credentials are decoded twice, each time into a buffer on the stack.
func (a *API) guardSpec() dialect.GuardSpec {
	return dialect.GuardSpec{
		Dialect: dialectName,
		Credential: func(r *http.Request) (string, error) {
			var buf basicBuf
			_, apiKey, err := basicCredentials(r, &buf)
			if err != nil {
				return "", err
			}
			secret := string(apiKey)
			if _, _, err := auth.ParseToken(secret); err != nil {
				return "", invalidAPIKey("Malformed API key")
			}
			return secret, nil
		},
		Admit: func(r *http.Request, k *auth.Key) error {
			var buf basicBuf
			email, _, _ := basicCredentials(r, &buf)
			if u, ok := a.keyUsers.of(k); !ok || !sameEmail(u.Email, email) {
				return invalidAPIKey("Invalid API key")
			}
			return nil
		},
		Render:  renderProblem,
		MaxBody: MaxBody,
	}
}

// userOf is the Zulip user of a request the guard admitted.
func (a *API) userOf(req *dialect.Request) (*user, error) {
	u, ok := a.keyUsers.of(req.Key)
	if !ok {
		return nil, invalidAPIKey("Invalid API key") // a key acting for another dialect's request
	}
	return u, nil
}

// authenticated guards a handler that acts as the request's Zulip user.
func (a *API) authenticated(h userHandler) http.Handler {
	return a.guard.Handle(func(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
		u, err := a.userOf(req)
		if err != nil {
			return err
		}
		return h(w, r, u)
	})
}
