package hueconn

import (
	"context"
	"time"
)

// SetSleep replaces the pauses of k's backoff, for the tests outside the
// package (they run a whole server, which imports this package).
func (k *Kind) SetSleep(f func(ctx context.Context, d time.Duration) error) { k.sleep.Store(&f) }
