package client_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them: a
// Stream's reader or a server left running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
