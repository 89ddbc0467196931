package dialect

import (
	"net/http"

	"github.com/herald-io/herald/internal/auth"
)

// AdminGuard guards herald's own admin endpoints of a dialect
// (/v1/<dialect>/…: users, tokens, simulators): a native admin key as
// Bearer token. They are herald's API, not the vendor's, so errors come in
// herald's native shape. No fault rule applies to them: whatever rules
// say, an admin can always reach /v1/faults to clear them.
func (c *Core) AdminGuard(maxBody int64) *Guard {
	g := c.Guard(GuardSpec{
		Dialect: "admin",
		Credential: func(r *http.Request) (string, error) {
			if t := auth.BearerToken(r); t != "" {
				return t, nil
			}
			return "", Errorf(Unauthorized, "an admin key is required: Authorization: Bearer <key>")
		},
		Admit: func(_ *http.Request, k *auth.Key) error {
			if !k.Admin || k.Dialect != "" {
				return Errorf(Forbidden, "an admin key is required")
			}
			return nil
		},
		MaxBody: maxBody,
	})
	g.faults = nil
	return g
}
