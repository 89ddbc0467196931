package dialect

import (
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/herald-io/herald/internal/auth"
)

// Failed authentications are logged, but a flood of bad credentials (a
// scanner, a client in a retry loop with a revoked key) must not become a
// flood of log lines: at most AuthLogRate lines a second, in bursts of
// AuthLogBurst; the lines dropped are counted on the next one written.
const (
	AuthLogRate  = 10
	AuthLogBurst = 20
)

// authLog writes the guard's "authentication failed" lines under the rate
// bound. It is safe for concurrent use.
type authLog struct {
	lim        *rate.Limiter
	now        func() time.Time
	suppressed atomic.Int64
}

func newAuthLog(now func() time.Time) *authLog {
	if now == nil {
		now = time.Now
	}
	return &authLog{lim: rate.NewLimiter(AuthLogRate, AuthLogBurst), now: now}
}

// Why authentication failed, in words safe for the log: never the
// credential, nor a dialect's message, which may quote it.
const (
	reasonNoCredential = "no credential"
	reasonMalformed    = "malformed credential"
	reasonRejected     = "unknown key or wrong secret"
)

// failed logs one failed authentication of r: the dialect, the client's
// address, why, and the key id when the credential is a herald token (its
// id is not secret; the rest of it is never logged).
func (g *Guard) authFailed(r *http.Request, secret, reason string) {
	a := g.core.authLog
	if a == nil {
		return
	}
	if !a.lim.AllowN(a.now(), 1) {
		a.suppressed.Add(1)
		return
	}
	args := []any{"dialect", g.faultDialect, "remote", r.RemoteAddr, "path", r.URL.Path, "reason", reason}
	if id, _, err := auth.ParseToken(secret); err == nil {
		args = append(args, "key", id)
	}
	if n := a.suppressed.Swap(0); n > 0 {
		args = append(args, "suppressed", n)
	}
	g.core.Logger.Warn("authentication failed", args...)
}
