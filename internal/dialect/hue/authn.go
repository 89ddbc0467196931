package hue

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/topic"
)

// appKeyHeader carries a CLIP v2 application key.
const appKeyHeader = "hue-application-key"

// hueScope is what an application key may read and write.
var hueScope = topic.Filter{"hue.>"}

// appKey checks the hue-application-key (a herald key made by pairing, or
// an admin key) and the key's rate limit before h runs. A missing or wrong
// key is a 403, as on a bridge: clients tell a v2 bridge by exactly this.
func (a *API) appKey(h func(http.ResponseWriter, *http.Request, *auth.Key)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Header.Get(appKeyHeader)
		if token == "" {
			writeError(w, http.StatusForbidden, "unauthorized user")
			return
		}
		key, err := a.core.Auth.Authenticate(r.Context(), token)
		switch {
		case errors.Is(err, auth.ErrUnauthorized):
			writeError(w, http.StatusForbidden, "unauthorized user")
			return
		case err != nil:
			writeErr(w, err)
			return
		case !key.Admin && (key.Dialect != dialectName || !key.CanSubscribe(hueScope)):
			writeError(w, http.StatusForbidden, "unauthorized user")
			return
		}
		if !a.allow(w, key) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		h(w, r, key)
	})
}

// adminKey checks for a native admin key (Authorization: Bearer), for the
// simulation and catalogue endpoints under /v1/hue/.
func (a *API) adminKey(h func(http.ResponseWriter, *http.Request)) http.Handler {
	return a.core.AdminOnly(MaxBody, func(w http.ResponseWriter, r *http.Request, _ *auth.Key) { h(w, r) })
}

func (a *API) allow(w http.ResponseWriter, key *auth.Key) bool {
	ok, retry := a.core.Auth.Allow(key)
	if !ok {
		// Whole seconds, rounded up: "0" would invite an immediate retry.
		secs := max(int64((retry+time.Second-1)/time.Second), 1)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		writeError(w, http.StatusTooManyRequests, "too many requests")
	}
	return ok
}
