// Package ctxtime has the waits that end with a context: the pause of a
// background job between its tries (routes, webhooks, connectors).
package ctxtime

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends; it returns ctx's error if ctx ended
// first (or had ended), nil otherwise. A d of 0 or less does not wait.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
