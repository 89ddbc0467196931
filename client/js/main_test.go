package jsclient_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is still running once
// they have finished: servers, the control endpoint, the browser's DevTools
// connection.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
