package server

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is still running once
// they have finished, which catches listeners and servers left open.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
