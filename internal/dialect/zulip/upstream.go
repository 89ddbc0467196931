package zulip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// Mirrored identities. A zulip connector (internal/connector/zulipconn)
// follows one identity's event queue on a real Zulip server and stores
// its events under that identity's realm here; the identity is a herald
// user too, with the upstream's user id, so that delivery (direct
// messages, typing) recognises it in the upstream's events. Its clients
// authenticate to herald with its herald key, and then:
//   - register, GET /events and DELETE /events are herald's: durable
//     queues, fed from the log (register's initial state is the
//     server's: upstreamstate.go);
//   - everything else — sending, typing, presence, the users, streams and
//     message history, uploads — is its upstream's, reverse-proxied with
//     the connector's credential (SetUpstreams), so a message sent through
//     herald is sent by the server, and comes back through the connector's
//     queue, stored once.

// Dialect is the dialect's name, the namespace of its topics.
const Dialect = dialectName

// Topic returns the topic of events of type typ in realm.
func Topic(realm, typ string) string { return "zulip." + realm + "." + typ }

// Identity is a Zulip user as the upstream server knows them.
type Identity struct {
	UserID   int64
	Email    string
	FullName string
	Bot      bool
}

// Mirror makes sure the identity a connector follows is a herald user,
// and returns that user. A user with its email is taken as it is (its
// realm and user id are the operator's choice); else one is made in realm,
// with the upstream's user id and no key: `herald zulip user add` with the
// email then gives it one (claimMirrored).
func (a *API) Mirror(ctx context.Context, id Identity, realm string) (UserView, error) {
	if rec, _, err := a.getUser(ctx, id.Email); err == nil {
		return viewOf(&rec), nil
	} else if !errors.Is(err, eventlog.ErrKeyNotFound) {
		return UserView{}, err
	}
	addr, err := mail.ParseAddress(id.Email)
	switch {
	case err != nil || addr.Address != id.Email || len(id.Email) > 254:
		return UserView{}, fmt.Errorf("zulip: mirror %q: not a plain email address", id.Email)
	case !validRealm(realm):
		return UserView{}, fmt.Errorf("zulip: mirror %s: realm %q is not a realm name", id.Email, realm)
	case id.UserID <= 0:
		return UserView{}, fmt.Errorf("zulip: mirror %s: user id %d", id.Email, id.UserID)
	}
	name := strings.TrimSpace(id.FullName)
	if !validName(name, 100) {
		name = id.Email
	}
	rec := userRecord{UserID: id.UserID, Email: id.Email, FullName: name, Realm: realm, IsBot: id.Bot,
		Created: time.Now().UTC()}
	if err := a.createUser(ctx, rec); err != nil {
		if errors.Is(err, errExists) { // made meanwhile, by a user add or another node
			if rec, _, err = a.getUser(ctx, id.Email); err == nil {
				return viewOf(&rec), nil
			}
		}
		return UserView{}, err
	}
	a.core.Logger.Info("zulip: user made for a mirrored identity; `herald zulip user add` gives it its key",
		"email", id.Email, "realm", realm, "user_id", id.UserID)
	return viewOf(&rec), nil
}

// claimMirrored gives a user made by Mirror its key (POST /v1/zulip/users
// for its email): its realm and user id stay the upstream identity's.
func (a *API) claimMirrored(w http.ResponseWriter, r *http.Request, rec userRecord, rev uint64, realm string) error {
	if realm != "" && realm != rec.Realm {
		return exists("a user with email " + rec.Email + " exists in realm " + rec.Realm + " (made by its connector)")
	}
	ctx := r.Context()
	k, token, err := a.createKey(ctx, rec)
	if err != nil {
		return err
	}
	rec.KeyID = k.ID
	b, err := json.Marshal(rec)
	if err == nil {
		_, err = a.kv.Update(ctx, userKey(rec.Email), b, rev)
	}
	if err != nil {
		if rerr := a.core.Auth.Revoke(context.WithoutCancel(ctx), k.ID); rerr != nil {
			a.core.Logger.Warn("zulip: revoke orphan key", "id", k.ID, "err", rerr)
		}
		if errors.Is(err, eventlog.ErrConflict) {
			return exists("a user with email " + rec.Email + " was given a key meanwhile")
		}
		return err
	}
	v := viewOf(&rec)
	v.APIKey = token
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// upstreams maps a mirrored identity's email, lower-cased, to the proxy
// to its server.
type upstreams map[string]http.Handler

// SetUpstreams sets the proxies to the mirrored identities' servers, by
// email (any case); nil or empty removes them all. Safe for concurrent use
// with requests: the map is replaced, never changed.
func (a *API) SetUpstreams(m map[string]http.Handler) {
	if len(m) == 0 {
		a.upstreams.Store(nil)
		return
	}
	u := make(upstreams, len(m))
	for email, h := range m {
		u[strings.ToLower(email)] = h
	}
	a.upstreams.Store(&u)
}

// upstreamOf returns the proxy for email's requests, or nil if it is not
// a mirrored identity. Without connectors it is one atomic load.
func (a *API) upstreamOf(email string) http.Handler {
	u := a.upstreams.Load()
	if u == nil {
		return nil
	}
	return (*u)[strings.ToLower(email)]
}

// orUpstream serves a request with h, or a mirrored identity's with its
// upstream.
func (a *API) orUpstream(h userHandler) userHandler {
	return func(w http.ResponseWriter, r *http.Request, u *user) error {
		if up := a.upstreamOf(u.Email); up != nil {
			up.ServeHTTP(w, r)
			return nil
		}
		return h(w, r, u)
	}
}

// MaxProxiedBody bounds what a mirrored identity sends its upstream
// through the paths herald does not serve (uploads among them; Zulip's
// own default limit is below it).
const MaxProxiedBody = 100 << 20

// Unmatched returns next with the Zulip requests of mirrored identities
// that mux's Zulip routes do not serve — unknown paths (message history,
// uploads, settings) and other methods of known ones — passed through the
// Zulip guard to the identity's upstream. Other requests, and all of them
// without connectors (one atomic load), go to next untouched.
func (a *API) Unmatched(mux *http.ServeMux, next http.Handler) http.Handler {
	spec := a.guardSpec()
	spec.MaxBody = MaxProxiedBody
	proxied := a.core.Guard(spec).Handle(func(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
		u, err := a.userOf(req)
		if err != nil {
			return err
		}
		up := a.upstreamOf(u.Email)
		if up == nil { // no longer mirrored
			return &apiError{status: http.StatusNotFound, code: codeBadRequest, msg: "Not Found"}
		}
		up.ServeHTTP(w, r)
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.upstreams.Load() != nil && a.mirroredRequest(mux, r) {
			r.Pattern = "zulip upstream" // the route in herald's request metrics
			proxied.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// mirroredRequest reports whether r is a mirrored identity's (by its Basic
// email; the guard checks the key) for a Zulip path that none of the
// dialect's method routes serves.
func (a *API) mirroredRequest(mux *http.ServeMux, r *http.Request) bool {
	if !strings.HasPrefix(r.URL.Path, "/api/v1/") && !strings.HasPrefix(r.URL.Path, "/user_uploads/") {
		return false
	}
	if email := basicEmail(r); email == "" || a.upstreamOf(email) == nil {
		return false
	}
	// The dialect's routes are "METHOD /api/v1/…"; a path's catch-all
	// (its 405), another dialect's pattern or none at all is not herald's
	// Zulip API.
	_, pattern := mux.Handler(r)
	_, path, ok := strings.Cut(pattern, " ")
	return !ok || !strings.HasPrefix(path, "/api/v1/")
}

// UpstreamUnreachable answers, in Zulip's shape, a request whose upstream
// could not be reached (a proxy's ErrorHandler).
func UpstreamUnreachable(w http.ResponseWriter, _ *http.Request, _ error) {
	writeJSON(w, http.StatusBadGateway, map[string]any{"result": "error", "code": "UPSTREAM_UNREACHABLE",
		"msg": "The Zulip server herald stands in front of is unreachable; retry shortly"})
}
