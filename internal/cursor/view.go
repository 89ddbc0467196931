package cursor

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// A view is one node's watch of the followed cursors under a prefix. It
// replaces the read a poll would make before it answers (was the cursor
// deleted, on any node, or did it idle out, while the poll waited?) with a
// barrier that the polls answering at the same moment share: one Revision
// call, the last write under the prefix, that started after they arrived
// and after what they answer with was stored (revisions.go); once the
// watch has delivered that write, every deletion acknowledged before the
// call is in known, as a tombstone, and every refreshed idle clock too. A
// burst of woken polls so costs an engine call or two, not one each, and a
// deletion is never missed: a poll whose entry the watch may not have kept
// up to date (read before the watch was live, or in an earlier one) reads
// its cursor as before.
//
// Ownership: the goroutine of WatchFollowed owns the watch; it alone
// writes ready, epoch and applied (under mu) and known's entries from the
// watch. Polls read them under mu and wait on advanced, which the watch
// closes when applied moves or it stops. The Revision calls run in one
// goroutine at a time (revisions), which WatchFollowed waits for before
// it returns. Lock order: view.mu, then known.mu (never both at once here);
// revisions.mu is taken alone.
type view struct {
	s      *Store
	prefix string
	ctx    context.Context // WatchFollowed's: the Revision calls'

	mu       sync.Mutex
	ready    bool          // the watch's replay is done and it is live
	epoch    uint64        // counts the watches that became ready
	applied  uint64        // the highest revision the watch delivered
	advanced chan struct{} // closed when applied or ready changes; nil: no one waits
	restart  context.CancelFunc

	known     knownRevisions // the bucket, if it may know its revisions (nil: it never does)
	revisions revisions
}

// knownRevisions is a bucket that can say what Revision would without a
// round trip, where it knows (eventlog's, where it is the bucket's only
// writer; memkv): a barrier then costs no engine call, and need not wait.
type knownRevisions interface {
	KnownRevision(prefix string) (uint64, bool)
}

const (
	// barrierWait bounds the wait for the watch to deliver a barrier's
	// revision; a watch that lags longer is restarted, and the polls read
	// their cursors meanwhile.
	barrierWait = 2 * time.Second
	// revisionTimeout bounds one Revision call.
	revisionTimeout = 5 * time.Second
	// watchRetry is the pause before a watch that ended is started again.
	watchRetry = time.Second
)

// WatchFollowed keeps this store's view of the followed cursors whose ids
// start with prefix (ending in "."), until ctx ends: their polls then
// check them at the end without a read each (see view). Without it, or
// while its watch is not live, Follow reads its cursor.
func (s *Store) WatchFollowed(ctx context.Context, prefix string) error {
	if p, ok := strings.CutSuffix(prefix, "."); !ok || ValidID(p) != nil {
		return fmt.Errorf("%w: prefix %q: an id's first tokens followed by '.'", ErrInvalid, prefix)
	}
	v := &view{s: s, prefix: prefix, ctx: ctx}
	v.known, _ = s.kv.(knownRevisions)
	s.views.add(v)
	defer s.views.remove(v)
	defer v.revisions.close()
	for {
		wctx, cancel := context.WithCancel(ctx)
		v.mu.Lock()
		v.restart = cancel
		v.mu.Unlock()
		err := s.kv.Watch(wctx, prefix, v.apply)
		cancel()
		v.stop()
		if ctx.Err() != nil {
			return nil
		}
		s.cfg.Logger.Warn("cursor: watch of followed cursors ended; polls read their cursors meanwhile",
			"prefix", prefix, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(watchRetry):
		}
	}
}

// apply takes one entry of the watch.
func (v *view) apply(e eventlog.Entry) {
	if e.Key == "" { // the replay is done
		v.mu.Lock()
		v.ready = true
		v.epoch++
		v.wakeLocked()
		v.mu.Unlock()
		return
	}
	// ready and epoch change only in this goroutine: read without mu.
	if v.ready {
		var st func() (State, error)
		if e.Value != nil {
			st = func() (State, error) { return decode(e) }
		}
		v.s.known.watched(e.Key, e.Revision, st, v.epoch)
	}
	v.mu.Lock()
	v.applied = max(v.applied, e.Revision)
	v.wakeLocked()
	v.mu.Unlock()
}

// stop marks the watch ended.
func (v *view) stop() {
	v.mu.Lock()
	v.ready = false
	v.wakeLocked()
	v.mu.Unlock()
}

func (v *view) wakeLocked() {
	if v.advanced != nil {
		close(v.advanced)
		v.advanced = nil
	}
}

// readyEpoch returns the live watch's epoch; 0 if none is live.
func (v *view) readyEpoch() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.ready {
		return 0
	}
	return v.epoch
}

// barrier returns once the watch has delivered every write under the
// prefix acknowledged before a moment after since was taken (the poll's
// arrival) and after the events up to through were stored, with the epoch
// of the watch that did; false if it cannot tell (no live watch, an
// engine error, a lagging watch, ctx ended).
func (v *view) barrier(ctx context.Context, since, through uint64) (uint64, bool) {
	if v.readyEpoch() == 0 {
		return 0, false
	}
	rev, ok := v.knownRevision()
	if !ok {
		var err error
		rev, err = v.revisions.revision(ctx, v.ctx, since, through, func(ctx context.Context) (uint64, error) {
			ctx, cancel := context.WithTimeout(ctx, revisionTimeout)
			defer cancel()
			return v.s.kv.Revision(ctx, v.prefix)
		})
		if err != nil {
			return 0, false
		}
	}
	var timeout <-chan time.Time // made only if the watch is behind
	for {
		epoch, wake, ok := v.reached(rev)
		switch {
		case epoch != 0:
			return epoch, true
		case !ok:
			return 0, false
		}
		if timeout == nil {
			t := time.NewTimer(barrierWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, false
		case <-timeout:
			v.lagging(rev)
			return 0, false
		}
	}
}

// barrierNow is barrier where it takes no wait: the bucket knows its last
// write under the prefix (KnownRevision), now a moment after the poll
// arrived and its events were stored, and the watch has delivered it.
func (v *view) barrierNow() (uint64, bool) {
	rev, ok := v.knownRevision()
	if !ok {
		return 0, false
	}
	epoch, _, _ := v.reached(rev)
	return epoch, epoch != 0
}

// knownRevision is the bucket's Revision of the prefix where it knows it
// without a round trip: it is the only writer.
func (v *view) knownRevision() (uint64, bool) {
	if v.known == nil {
		return 0, false
	}
	return v.known.KnownRevision(v.prefix)
}

// reached returns the live watch's epoch if it has delivered rev; else 0
// and what to wait on for it to move, or false if no watch is live.
func (v *view) reached(rev uint64) (epoch uint64, wake chan struct{}, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case !v.ready:
		return 0, nil, false
	case v.applied >= rev:
		return v.epoch, nil, true
	}
	if v.advanced == nil {
		v.advanced = make(chan struct{})
	}
	return 0, v.advanced, true
}

// lagging restarts a watch that did not deliver rev in time.
func (v *view) lagging(rev uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.ready && v.applied < rev && v.restart != nil {
		v.s.cfg.Logger.Warn("cursor: watch of followed cursors lags; restarting it",
			"prefix", v.prefix, "revision", rev, "applied", v.applied)
		v.restart()
	}
}

// recheck returns the followed cursor id as it is now, at the end of a
// poll that began with since (see barrier) and answers up to through:
// from v, its view (nil if none), after its barrier if v's entry is
// trusted, else by a read. ErrNotFound if it is gone (deleted or idled
// out).
func (s *Store) recheck(ctx context.Context, id string, v *view, since, through uint64) (State, error) {
	if v != nil {
		if epoch, ok := v.barrier(ctx, since, through); ok {
			if st, ok, err := s.viewed(id, epoch); ok {
				return st, err
			}
		}
	}
	return s.read(ctx, id)
}

// viewed returns the followed cursor id as the watch of epoch has it, once
// past a barrier of that watch; false if the entry cannot be trusted, or
// idled out as known (a read tells whether another node kept it alive,
// and deletes it if not).
func (s *Store) viewed(id string, epoch uint64) (State, bool, error) {
	e, ok := s.known.lookup(id)
	switch {
	case !ok || e.epoch != epoch:
	case e.gone:
		return State{}, true, fmt.Errorf("cursor %s: deleted: %w", id, ErrNotFound)
	case !s.expired(&e.st):
		return e.st, true, nil
	}
	return State{}, false, nil
}

// views are a store's views, by prefix. Every poll looks its view up;
// views are added and removed only as watches start and stop, so the list
// is replaced whole and read without a lock.
type views struct {
	mu   sync.Mutex // serializes add and remove
	list atomic.Pointer[[]*view]
}

func (vs *views) add(v *view) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	var list []*view
	if l := vs.list.Load(); l != nil {
		list = slices.Clone(*l)
	}
	list = append(list, v)
	vs.list.Store(&list)
}

func (vs *views) remove(v *view) {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if l := vs.list.Load(); l != nil {
		list := slices.DeleteFunc(slices.Clone(*l), func(w *view) bool { return w == v })
		vs.list.Store(&list)
	}
}

// find returns the view that watches id; nil if none does.
func (vs *views) find(id string) *view {
	l := vs.list.Load()
	if l == nil {
		return nil
	}
	for _, v := range *l {
		if strings.HasPrefix(id, v.prefix) {
			return v
		}
	}
	return nil
}

// epoch returns the epoch of the live watch of id; 0 if none is live.
func (vs *views) epoch(id string) uint64 {
	if v := vs.find(id); v != nil {
		return v.readyEpoch()
	}
	return 0
}
