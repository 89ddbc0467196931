package faults

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	randv2 "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/metrics"
)

// Bucket is the engine KV bucket the rules are stored in.
const Bucket = "herald-faults"

// kvPrefix is the part of the bucket that holds rules.
const kvPrefix = "rule."

// awaitTimeout bounds how long a change waits for this node's watch to
// show it (read-your-writes); the change is stored either way.
const awaitTimeout = 5 * time.Second

// Config configures a Store; zero values are defaults.
type Config struct {
	Logger  *slog.Logger
	Metrics *metrics.Metrics // its FaultRules gauge follows the rules in effect
	// OnChange is called, on the store's goroutine, each time the rules in
	// effect change (the delivery engine looks at its streams again).
	OnChange func()
	// Now is the store's clock (tests stop it); default time.Now.
	Now func() time.Time
	// Rand draws a rule's chance, in [0, 1); default math/rand/v2.
	Rand func() float64
}

// Store holds the fault rules of every node: this node's copy of the
// bucket, loaded by Start and kept current by a watch, so a rule made on
// any node is in effect on all of them a moment later.
//
// Ownership: the watch goroutine is the only writer of all and of the
// published Rules (Start's load happens before it runs); expiry, which
// also publishes, takes mu like the watch does. Readers of the rules in
// effect take no lock: one atomic load (Rules).
type Store struct {
	kv  eventlog.KV
	cfg Config
	log *slog.Logger

	rules atomic.Pointer[Rules] // in effect now; nil: none

	mu      sync.Mutex
	all     map[string]Rule // as the watch last showed them, expired ones too
	lastRev uint64          // the highest revision the watch showed
	changed chan struct{}   // closed and replaced whenever all changes
	hooks   []func()        // OnChange's, called after Config.OnChange
	expiry  *time.Timer     // publishes again when the next rule expires
	closed  bool

	ctx    context.Context // the store's life, from Start (set under mu)
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a store over kv; Start loads and follows it.
func New(kv eventlog.KV, cfg Config) *Store {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = randv2.Float64
	}
	return &Store{kv: kv, cfg: cfg, log: cfg.Logger, all: map[string]Rule{}, changed: make(chan struct{})}
}

// Start loads the rules and follows the bucket until ctx ends or Close is
// called. It returns once they are loaded.
func (s *Store) Start(ctx context.Context) error {
	entries, err := s.kv.List(ctx, kvPrefix)
	if err != nil {
		return fmt.Errorf("faults: load rules: %w", err)
	}
	loaded := map[string]Rule{}
	var rev uint64
	for _, e := range entries {
		rev = max(rev, e.Revision)
		if r, ok := s.decode(e); ok {
			loaded[r.ID] = r
		}
	}
	s.replace(loaded, rev)
	s.mu.Lock()
	s.ctx, s.cancel = context.WithCancel(ctx)
	ctx = s.ctx
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		eventlog.Follow(ctx, s.log, "fault rule", s.watchOnce)
	}()
	return nil
}

// Close stops following the bucket and waits for the store's goroutines.
func (s *Store) Close() {
	s.mu.Lock()
	s.closed = true
	if s.expiry != nil {
		s.expiry.Stop()
	}
	s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// Rules returns the rules in effect, nil if there are none: the one atomic
// load each hook pays. A nil store has none.
func (s *Store) Rules() *Rules {
	if s == nil {
		return nil
	}
	return s.rules.Load()
}

// Add stores a new rule and returns it once it is in effect on this node.
func (s *Store) Add(ctx context.Context, spec Spec) (Rule, error) {
	for range 3 { // ids are random; Create's compare-and-set makes a collision harmless
		r, err := spec.rule(newID(), s.cfg.Now().UTC())
		if err != nil {
			return Rule{}, err
		}
		data, err := json.Marshal(r)
		if err != nil {
			return Rule{}, fmt.Errorf("faults: encode rule: %w", err)
		}
		rev, err := s.kv.Create(ctx, kvPrefix+r.ID, data)
		if errors.Is(err, eventlog.ErrConflict) {
			continue
		}
		if err != nil {
			return Rule{}, fmt.Errorf("faults: store rule: %w", err)
		}
		r.rev = rev
		s.await(ctx, func() bool { return s.lastRev >= rev })
		s.log.Info("fault rule added", "id", r.ID, "dialect", r.Dialect, "action", r.Action)
		return r, nil
	}
	return Rule{}, errors.New("faults: could not find a free rule id")
}

// List returns the rules not expired, oldest first.
func (s *Store) List(ctx context.Context) ([]Rule, error) {
	entries, err := s.kv.List(ctx, kvPrefix)
	if err != nil {
		return nil, fmt.Errorf("faults: list rules: %w", err)
	}
	now := s.cfg.Now()
	rules := make([]Rule, 0, len(entries))
	for _, e := range entries {
		if r, ok := s.decode(e); ok && !r.expired(now) {
			rules = append(rules, r)
		}
	}
	sortRules(rules)
	return rules, nil
}

// Get returns the rule with the given id, or an error wrapping
// ErrNotFound (also once it expired).
func (s *Store) Get(ctx context.Context, id string) (Rule, error) {
	if !validID(id) {
		return Rule{}, fmt.Errorf("faults: rule %q: %w", id, ErrNotFound)
	}
	e, err := s.kv.Get(ctx, kvPrefix+id)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return Rule{}, fmt.Errorf("faults: rule %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Rule{}, fmt.Errorf("faults: get rule %s: %w", id, err)
	}
	r, ok := s.decode(e)
	if !ok || r.expired(s.cfg.Now()) {
		return Rule{}, fmt.Errorf("faults: rule %s: %w", id, ErrNotFound)
	}
	return r, nil
}

// Delete removes a rule and returns once it is out of effect on this node.
func (s *Store) Delete(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("faults: rule %q: %w", id, ErrNotFound)
	}
	e, err := s.kv.Get(ctx, kvPrefix+id)
	if err == nil {
		// Rules never change once made: a conflict means it was deleted.
		err = s.kv.Delete(ctx, kvPrefix+id, e.Revision)
	}
	if errors.Is(err, eventlog.ErrKeyNotFound) || errors.Is(err, eventlog.ErrConflict) {
		return fmt.Errorf("faults: rule %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("faults: delete rule %s: %w", id, err)
	}
	s.await(ctx, func() bool { _, ok := s.all[id]; return !ok })
	s.log.Info("fault rule deleted", "id", id)
	return nil
}

// Clear removes every rule and says how many there were.
func (s *Store) Clear(ctx context.Context) (int, error) {
	entries, err := s.kv.List(ctx, kvPrefix)
	if err != nil {
		return 0, fmt.Errorf("faults: clear rules: %w", err)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		id := strings.TrimPrefix(e.Key, kvPrefix)
		if err := s.kv.Delete(ctx, e.Key, 0); err != nil {
			return len(ids), fmt.Errorf("faults: delete rule %s: %w", id, err)
		}
		ids = append(ids, id)
	}
	s.await(ctx, func() bool {
		return !slices.ContainsFunc(ids, func(id string) bool { _, ok := s.all[id]; return ok })
	})
	if len(ids) > 0 {
		s.log.Info("fault rules cleared", "count", len(ids))
	}
	return len(ids), nil
}

// await waits until done (called with mu held) holds, ctx ends or
// awaitTimeout passes.
func (s *Store) await(ctx context.Context, done func() bool) {
	ctx, cancel := context.WithTimeout(ctx, awaitTimeout)
	defer cancel()
	for {
		s.mu.Lock()
		ok, ch := done(), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.log.Warn("fault rule change not yet seen by this node's watch", "err", ctx.Err())
			return
		}
	}
}

// decode reads a stored rule; a damaged one is skipped.
func (s *Store) decode(e eventlog.Entry) (Rule, bool) {
	var r Rule
	if err := json.Unmarshal(e.Value, &r); err != nil || kvPrefix+r.ID != e.Key {
		s.log.Warn("ignoring damaged fault rule", "kv", e.Key, "err", err)
		return Rule{}, false
	}
	r.rev = e.Revision
	return r, true
}

// watchOnce runs one watch. Its replay of the bucket (up to the marker, an
// entry with Key "") replaces this node's copy at once, so rules deleted
// while the node was not watching go too; changes after it apply one by
// one.
func (s *Store) watchOnce(ctx context.Context) error {
	replay := map[string]Rule{}
	var rev uint64 // the highest revision replayed
	return s.kv.Watch(ctx, kvPrefix, func(e eventlog.Entry) {
		id := strings.TrimPrefix(e.Key, kvPrefix)
		switch {
		case e.Key == "":
			if replay != nil {
				s.replace(replay, rev)
				replay = nil
			}
		case replay != nil:
			rev = max(rev, e.Revision)
			if r, ok := s.decode(e); ok && e.Value != nil {
				replay[id] = r
			} else {
				delete(replay, id)
			}
		case e.Value == nil:
			s.update(e.Revision, func(all map[string]Rule) { delete(all, id) })
		default:
			r, ok := s.decode(e)
			s.update(e.Revision, func(all map[string]Rule) {
				if ok {
					all[id] = r
				} else {
					delete(all, id)
				}
			})
		}
	})
}

// replace makes rules this node's copy.
func (s *Store) replace(rules map[string]Rule, rev uint64) {
	s.update(rev, func(all map[string]Rule) {
		clear(all)
		for id, r := range rules {
			all[id] = r
		}
	})
}

// update changes this node's copy as of revision rev and publishes the
// rules in effect before anyone waiting for the change is told.
func (s *Store) update(rev uint64, change func(map[string]Rule)) {
	s.mu.Lock()
	change(s.all)
	s.lastRev = max(s.lastRev, rev)
	s.publishLocked()
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.notify()
}

// expire publishes again when a rule's time is over.
func (s *Store) expire() {
	s.mu.Lock()
	s.publishLocked()
	s.mu.Unlock()
	s.notify()
}

// OnChange adds fn to what is called, on the store's goroutine, each time
// the rules in effect change (a dialect looks at its waiting polls). A nil
// store never calls it.
func (s *Store) OnChange(fn func()) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.hooks = append(s.hooks, fn)
	s.mu.Unlock()
}

func (s *Store) notify() {
	if s.cfg.OnChange != nil {
		s.cfg.OnChange()
	}
	s.mu.Lock()
	hooks := s.hooks
	s.mu.Unlock()
	for _, fn := range hooks {
		fn()
	}
}

// publishLocked makes the rules not expired the ones in effect and arms
// the timer for the next expiry. Called with mu held.
func (s *Store) publishLocked() {
	if s.closed {
		return
	}
	now := s.cfg.Now()
	var live []Rule
	var next time.Time
	for _, r := range s.all {
		switch {
		case r.expired(now):
			s.forget(r)
		default:
			live = append(live, r)
			if r.Expires != nil && (next.IsZero() || r.Expires.Before(next)) {
				next = *r.Expires
			}
		}
	}
	if s.expiry != nil {
		s.expiry.Stop()
		s.expiry = nil
	}
	if !next.IsZero() {
		s.expiry = time.AfterFunc(next.Sub(now), s.expire)
	}
	s.rules.Store(newRules(live, s.cfg.Rand, s.cfg.Now))
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.FaultRules.Set(float64(len(live)))
	}
}

// forget deletes an expired rule from the bucket, if it is still at the
// revision this node saw (every node tries; one wins). Called with mu
// held, before Close.
func (s *Store) forget(r Rule) {
	if s.ctx == nil {
		return // not following the bucket yet: the next publish tries
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.kv.Delete(s.ctx, kvPrefix+r.ID, r.rev)
		if err != nil && s.ctx.Err() == nil && !errors.Is(err, eventlog.ErrConflict) && !errors.Is(err, eventlog.ErrKeyNotFound) {
			s.log.Warn("could not delete an expired fault rule", "id", r.ID, "err", err)
		}
	}()
}

// newID returns a random rule id.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validID reports whether id can be a rule's id.
func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// sortRules orders rules oldest first (ids break ties).
func sortRules(rules []Rule) {
	slices.SortFunc(rules, func(a, b Rule) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
