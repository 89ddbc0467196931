package auth

import (
	"net/http"
	"strings"
)

// BearerToken returns the token of an "Authorization: Bearer <token>"
// header (the scheme is case-insensitive), or "" if there is none.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// QueryToken returns the URL query parameter name (e.g. "access_token",
// for clients such as EventSource that cannot set headers), or "".
func QueryToken(r *http.Request, name string) string {
	if r.URL == nil {
		return ""
	}
	return r.URL.Query().Get(name)
}
