// Package lease elects, for each named job, the one node of a cluster that
// runs it: webhook deliveries, routes and connectors each run on exactly one
// node at a time, and on another when that node dies.
//
// A lease is an entry in the engine's KV (bucket Bucket) naming its holder.
// The holder renews it every TTL/3 with a compare-and-set; another node takes
// it over, with a compare-and-set on the revision it saw, once it has watched
// that revision stay unchanged for a whole TTL by its own clock. No two
// clocks are compared, so skew between nodes cannot hand a lease out twice;
// only their rates must roughly agree.
//
// The holder stops its job before another can take over: a job's context
// ends when 2/3 of a TTL has passed since the holder sent its last
// successful renewal (which the engine stored no earlier than it was sent),
// while a taker waits a TTL from when it first saw that renewal's revision.
// A holder that stops cleanly deletes its lease, so a successor starts at once.
//
// Ownership: Run's goroutine owns its lease (reads, renews, releases it) and
// the job's context; the job runs in a goroutine of its own, which Run
// waits for before it renews no more or gives the lease back.
package lease

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// Bucket is the KV bucket that holds the leases.
const Bucket = "herald-leases"

// DefaultTTL is how long a lease outlives its holder's last renewal.
const DefaultTTL = 10 * time.Second

// Config configures an Elector.
type Config struct {
	Holder string        // this node's id, stored in the leases it holds
	TTL    time.Duration // 0: DefaultTTL
	Logger *slog.Logger  // default: discard
}

// Elector runs jobs under leases in one KV bucket.
type Elector struct {
	kv     eventlog.KV
	holder string
	ttl    time.Duration
	log    *slog.Logger
}

// New returns an Elector over kv.
func New(kv eventlog.KV, cfg Config) *Elector {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Elector{kv: kv, holder: cfg.Holder, ttl: cfg.TTL, log: cfg.Logger}
}

// record is a lease's stored value.
type record struct {
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"` // when the holder took it, by its clock (shown, never compared)
}

// Holding says who holds a lease.
type Holding struct {
	Holder string
	Since  time.Time
	// Revision changes with every renewal: one unchanged for a TTL is a
	// holder that died.
	Revision uint64
}

// ErrNotHeld is returned by Holder for a lease nobody holds.
var ErrNotHeld = errors.New("lease: not held")

// Holder returns who holds the lease name now (as far as the engine knows:
// a holder that died holds it until a successor takes it over).
func (e *Elector) Holder(ctx context.Context, name string) (Holding, error) {
	ent, err := e.kv.Get(ctx, key(name))
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return Holding{}, ErrNotHeld
	}
	if err != nil {
		return Holding{}, err
	}
	var r record
	if err := json.Unmarshal(ent.Value, &r); err != nil {
		return Holding{}, fmt.Errorf("lease %s: %w", name, err)
	}
	return Holding{Holder: r.Holder, Since: r.Since, Revision: ent.Revision}, nil
}

// TTL is how long a lease outlives its holder's last renewal.
func (e *Elector) TTL() time.Duration { return e.ttl }

// Run runs job whenever this node holds the lease name, until ctx ends.
// At most one Run per name may be going on an Elector at a time.
// The job's context ends when the lease is lost (or may be: renewals
// failed for too long) or ctx ends; Run then waits for the job to return,
// and contends for the lease again unless ctx is done. A job that returns
// while its lease is held is started again after a pause. Run returns
// ctx's error.
func (e *Elector) Run(ctx context.Context, name string, job func(ctx context.Context)) error {
	k := key(name)
	for {
		rev, err := e.acquire(ctx, k)
		if err != nil {
			return err
		}
		e.log.Debug("lease taken", "lease", name, "holder", e.holder)
		e.hold(ctx, name, k, rev, job)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

func key(name string) string { return "lease." + name }

// acquire returns once this node holds k, with the lease's revision.
func (e *Elector) acquire(ctx context.Context, k string) (uint64, error) {
	value, err := json.Marshal(record{Holder: e.holder, Since: time.Now().UTC()})
	if err != nil {
		return 0, err
	}
	var (
		seenRev uint64    // the holder's revision this node watches
		seenAt  time.Time // when it first saw it, by this node's clock
	)
	tick := time.NewTicker(e.ttl / 3)
	defer tick.Stop()
	for {
		ent, err := e.kv.Get(ctx, k)
		switch {
		case errors.Is(err, eventlog.ErrKeyNotFound):
			rev, err := e.kv.Create(ctx, k, value)
			if err == nil {
				return rev, nil
			}
			if !errors.Is(err, eventlog.ErrConflict) {
				e.log.Warn("lease: take", "key", k, "err", err)
			}
		case err != nil:
			e.log.Warn("lease: read", "key", k, "err", err)
		case holderOf(ent.Value) == e.holder:
			// Ours: taken by an earlier Run of this process whose context
			// ended while the engine stored it. Nobody else runs the job
			// (one Run per name per Elector), so it is ours again at once.
			rev, err := e.kv.Update(ctx, k, value, ent.Revision)
			if err == nil {
				return rev, nil
			}
			if !errors.Is(err, eventlog.ErrConflict) {
				e.log.Warn("lease: take back", "key", k, "err", err)
			}
		case ent.Revision != seenRev:
			seenRev, seenAt = ent.Revision, time.Now()
		case time.Since(seenAt) >= e.ttl:
			rev, err := e.kv.Update(ctx, k, value, seenRev)
			if err == nil {
				e.log.Info("lease taken over", "key", k, "holder", e.holder, "from", holderOf(ent.Value))
				return rev, nil
			}
			if !errors.Is(err, eventlog.ErrConflict) {
				e.log.Warn("lease: take over", "key", k, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
}

// hold runs job while the lease k at rev is renewed, and gives the lease
// back when ctx ends.
func (e *Elector) hold(ctx context.Context, name, k string, rev uint64, job func(context.Context)) {
	jobCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go e.runJob(jobCtx, name, job, done)

	value, _ := json.Marshal(record{Holder: e.holder, Since: time.Now().UTC()})
	renewed := time.Now() // when the last successful renewal was sent
	tick := time.NewTicker(e.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-done:
			// Only ctx ends the job here (jobCtx is its child, and stop is
			// called only below, where hold returns): a clean stop, once
			// the job is over.
			e.giveBack(k, rev)
			return
		case <-tick.C:
		}
		sent := time.Now()
		// The renewal may not outlast the job's last moment.
		rctx, cancel := context.WithDeadline(ctx, earliest(sent.Add(e.ttl/3), renewed.Add(e.ttl*2/3)))
		next, err := e.kv.Update(rctx, k, value, rev)
		cancel()
		switch {
		case err == nil:
			rev, renewed = next, sent
		case errors.Is(err, eventlog.ErrConflict):
			e.log.Warn("lease lost", "lease", name, "holder", e.holder)
			stop()
			<-done
			return
		case time.Since(renewed) >= e.ttl*2/3:
			e.log.Warn("lease: not renewed in time, stopping the job", "lease", name, "err", err)
			stop()
			<-done
			return
		default:
			e.log.Warn("lease: renew", "lease", name, "err", err)
		}
	}
}

// giveBack deletes the lease k at rev after a clean stop, with a fresh
// context: the run's is over, but the successor should not wait a TTL for
// a lease nobody holds.
func (e *Elector) giveBack(k string, rev uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), e.ttl/3)
	defer cancel()
	if err := e.kv.Delete(ctx, k, rev); err != nil && !errors.Is(err, eventlog.ErrConflict) {
		e.log.Warn("lease: give back", "key", k, "err", err)
	}
}

// runJob runs job until ctx ends, starting it again (after a pause that
// grows to 30 s) if it returns before.
func (e *Elector) runJob(ctx context.Context, name string, job func(context.Context), done chan<- struct{}) {
	defer close(done)
	pause := time.Second
	for {
		job(ctx)
		if ctx.Err() != nil {
			return
		}
		e.log.Warn("lease: job returned while its lease is held; starting it again", "lease", name, "after", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
}

func holderOf(v []byte) string {
	var r record
	_ = json.Unmarshal(v, &r)
	return r.Holder
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
