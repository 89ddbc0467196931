package acmetest

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the tests if any goroutine is still running once they
// have finished. Two are let through, neither herald's: Pebble's
// validation authority starts a task loop it never ends (it has no Close),
// and autocert gives up a failed order's pending authorizations in a
// goroutine detached on purpose (its own five-minute context), which may
// still be in a retry pause when the last test ends; herald's closing
// makes its next request fail at once.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/letsencrypt/pebble/v2/va.VAImpl.processTasks"),
		goleak.IgnoreAnyFunction("golang.org/x/crypto/acme/autocert.(*Manager).deactivatePendingAuthz"),
	)
}
