package hue

import (
	"net/http"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/topic"
)

// appKeyHeader carries a CLIP v2 application key.
const appKeyHeader = "hue-application-key"

// hueScope is what an application key may read and write.
var hueScope = topic.Filter{"hue.>"}

// guardSpec: the hue-application-key (a herald key made by pairing, or an
// admin key) and the key's rate limit. A missing or wrong key is a 403, as
// on a bridge: clients tell a v2 bridge by exactly this.
func (a *API) guardSpec() dialect.GuardSpec {
	return dialect.GuardSpec{
		Dialect:    dialectName,
		Credential: func(r *http.Request) (string, error) { return r.Header.Get(appKeyHeader), nil },
		Admit: func(_ *http.Request, k *auth.Key) error {
			if !k.Admin && (k.Dialect != dialectName || !k.CanSubscribe(hueScope)) {
				return auth.ErrUnauthorized
			}
			return nil
		},
		Render:  render,
		MaxBody: MaxBody,
	}
}

// appKey guards a CLIP v2 handler.
func (a *API) appKey(h func(http.ResponseWriter, *http.Request, *auth.Key)) http.Handler {
	return a.guard.Handle(func(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
		h(w, r, req.Key)
		return nil
	})
}
