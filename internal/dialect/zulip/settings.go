package zulip

import (
	"errors"
	"net/http"
	"strings"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
)

// serverSettings handles GET /api/v1/server_settings, without
// authentication: python-zulip-api asks for it first and refuses a server
// without zulip_version.
func (a *API) serverSettings(w http.ResponseWriter, r *http.Request) {
	url := realmURL(r)
	writeSuccess(w, map[string]any{
		"zulip_version":                   Version,
		"zulip_feature_level":             FeatureLevel,
		"zulip_merge_base":                MergeBase,
		"push_notifications_enabled":      false,
		"is_incompatible":                 false,
		"email_auth_enabled":              false,
		"require_email_format_usernames":  true,
		"authentication_methods":          map[string]bool{"password": false, "dev": false, "email": false, "ldap": false, "remoteuser": false, "github": false, "azuread": false, "gitlab": false, "apple": false, "google": false, "saml": false, "openid connect": false},
		"external_authentication_methods": []any{},
		"realm_url":                       url,
		"realm_uri":                       url,
		"realm_name":                      a.cfg.RealmName,
		"realm_icon":                      "",
		"realm_description":               "",
		"realm_web_public_access_enabled": false,
	})
}

// realmURL is the base URL the client reached herald at.
func realmURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}

// fetchAPIKey handles POST /api/v1/fetch_api_key (username, password).
// herald has no passwords and keeps only hashes of API keys, so it cannot
// hand a key out; it accepts the API key itself as the password, which lets
// clients that log in (zulip-js without an apiKey) work when configured
// with the key as their password.
func (a *API) fetchAPIKey(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	p, err := readParams(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	username, ok := p.str("username")
	if !ok {
		a.fail(w, r, missingArgument("username"))
		return
	}
	password, ok := p.str("password")
	if !ok {
		a.fail(w, r, missingArgument("password"))
		return
	}
	failed := &apiError{status: http.StatusUnauthorized, code: codeAuthFailed,
		msg: "Your username or password is incorrect"}
	if _, _, err := auth.ParseToken(password); err != nil {
		a.fail(w, r, failed)
		return
	}
	k, err := a.core.Auth.Authenticate(r.Context(), password)
	if errors.Is(err, auth.ErrUnauthorized) {
		a.fail(w, r, failed)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	u, ok := userFromKey(k)
	if !ok || !strings.EqualFold(u.Email, username) {
		a.fail(w, r, failed)
		return
	}
	if ok, retry := a.core.Auth.Allow(k); !ok {
		a.fail(w, r, &dialect.Problem{Kind: dialect.RateLimited, RetryAfter: retry})
		return
	}
	writeSuccess(w, p.withIgnored(map[string]any{"api_key": password, "email": u.Email, "user_id": u.ID}))
}
