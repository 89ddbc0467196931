package loadgen

import (
	"context"
	"time"
)

// The settle phase's parameters: publishing starts once the server and the
// tool have each used at most settleBusy of a core over settleWindow, or
// after settleMax regardless: a mode whose receivers pull on a timer
// (jetstream) is never that quiet, and the connect phase's tail, the thing
// waited for, takes a fraction of a second even with 5,000 receivers.
const (
	settleWindow = 200 * time.Millisecond
	settleBusy   = 0.10
	settleMax    = 3 * time.Second
)

// settle waits, after the subscribers are connected and their receivers
// started, until the work of connecting is done: a pull receiver's first
// request is sent only as it starts, and a server still serving thousands
// of those when the first event comes has every one of them queued ahead
// of its delivery — the first event's latency would be the connect
// phase's, not the load's. It waits until each clock in cpus has advanced
// by at most settleBusy of window over one window, and returns how long it
// waited and whether that happened within limit.
func settle(ctx context.Context, cpus []func() (time.Duration, bool), window, limit time.Duration) (time.Duration, bool) {
	start := time.Now()
	last := make([]time.Duration, len(cpus))
	for i, cpu := range cpus {
		last[i], _ = cpu()
	}
	t := time.NewTicker(window)
	defer t.Stop()
	for time.Since(start) < limit {
		select {
		case <-ctx.Done():
			return time.Since(start), false
		case <-t.C:
		}
		quiet := true
		for i, cpu := range cpus {
			now, ok := cpu()
			if ok && now-last[i] > time.Duration(settleBusy*float64(window)) {
				quiet = false
			}
			last[i] = now
		}
		if quiet {
			return time.Since(start), true
		}
	}
	return time.Since(start), false
}
