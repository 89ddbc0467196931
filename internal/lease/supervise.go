package lease

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// A Job runs one definition (a webhook endpoint, a route, a connector)
// while this node holds its lease, until ctx ends.
type Job func(ctx context.Context, def eventlog.Entry)

// Supervise keeps one Run going for every definition stored under prefix
// in defs (a key "<prefix><name>" is leased as "<lease><name>"): a new
// definition starts contending, a changed one is stopped and started again
// with its new value (giving its lease back in between), a deleted one is
// stopped. A job keeps its own state elsewhere: a change of its definition
// restarts it. Supervise returns ctx's error when ctx ends, after every job
// has returned.
//
// Ownership: Supervise's goroutine owns the table of running definitions;
// the watch callback runs on it, so no lock guards the table.
func (e *Elector) Supervise(ctx context.Context, defs eventlog.KV, prefix, lease string, job Job) error {
	type running struct {
		value []byte
		stop  context.CancelFunc
		done  chan struct{}
	}
	var (
		table = map[string]*running{}
		wg    sync.WaitGroup
	)
	stop := func(name string) {
		if r, ok := table[name]; ok {
			r.stop()
			<-r.done
			delete(table, name)
		}
	}
	apply := func(ent eventlog.Entry) {
		if ent.Key == "" {
			return // the initial values are done
		}
		name := strings.TrimPrefix(ent.Key, prefix)
		if r, ok := table[name]; ok && ent.Value != nil && bytes.Equal(r.value, ent.Value) {
			return
		}
		stop(name)
		if ent.Value == nil {
			return
		}
		jctx, cancel := context.WithCancel(ctx)
		r := &running{value: ent.Value, stop: cancel, done: make(chan struct{})}
		table[name] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(r.done)
			_ = e.Run(jctx, lease+name, func(ctx context.Context) { job(ctx, ent) })
		}()
	}
	// A watch that fails is started again: its first values bring the
	// table up to date (deletions included), and unchanged ones are kept.
	pause := time.Second
	for {
		err := defs.Watch(ctx, prefix, apply)
		if ctx.Err() != nil {
			break
		}
		e.log.Warn("lease: watching definitions", "prefix", prefix, "err", err, "again in", pause)
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
	for _, r := range table {
		r.stop()
	}
	wg.Wait()
	return ctx.Err()
}
