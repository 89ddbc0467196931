package dialect

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-io/herald/internal/auth"
)

// AdminOnly guards herald's own admin endpoints of a dialect
// (/v1/<dialect>/…: users, tokens, simulators): an admin key as Bearer
// token, the key's rate limit, and a body limit. They are herald's API, not
// the vendor's, so errors come in herald's native shape.
func (c *Core) AdminOnly(maxBody int64, h func(http.ResponseWriter, *http.Request, *auth.Key)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := auth.BearerToken(r)
		if token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
			WriteError(w, http.StatusUnauthorized, "unauthorized", "an admin key is required: Authorization: Bearer <key>")
			return
		}
		key, err := c.Auth.Authenticate(r.Context(), token)
		switch {
		case errors.Is(err, auth.ErrUnauthorized):
			w.Header().Set("WWW-Authenticate", `Bearer realm="herald", error="invalid_token"`)
			WriteError(w, http.StatusUnauthorized, "unauthorized", "the key is not valid")
			return
		case err != nil:
			w.Header().Set("Retry-After", "1")
			WriteError(w, http.StatusServiceUnavailable, "unavailable", "the key store is unavailable; retry shortly")
			return
		case !key.Admin || key.Dialect != "":
			WriteError(w, http.StatusForbidden, "forbidden", "an admin key is required")
			return
		}
		if ok, retry := c.Auth.Allow(key); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
			WriteError(w, http.StatusTooManyRequests, "rate_limited", "too many requests for this key")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h(w, r, key)
	})
}

// WriteError writes herald's native error body {"error":{"code","message"}}.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // messages quote things like <key>; this is not HTML
	enc.Encode(errorBody{errorDetail{Code: code, Message: msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
