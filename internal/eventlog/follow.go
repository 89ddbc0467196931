package eventlog

import (
	"context"
	"log/slog"
	"time"
)

// Backoff of Follow between two watches.
const (
	followMinBackoff = 100 * time.Millisecond
	followMaxBackoff = 10 * time.Second
)

// Follow runs watch (one KV Watch and what it feeds) until ctx ends, and
// again after a backoff — 100 ms doubling to 10 s, from the start again
// once a watch lasted a minute — whenever it ends early: an engine
// restart or a lost connection ends a watch. what names the watch in the
// log ("key watch ended; retrying").
func Follow(ctx context.Context, logger *slog.Logger, what string, watch func(context.Context) error) {
	backoff := followMinBackoff
	for {
		began := time.Now()
		err := watch(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			backoff = followMinBackoff
		}
		logger.Warn(what+" watch ended; retrying", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, followMaxBackoff)
	}
}
