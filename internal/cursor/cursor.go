// Package cursor keeps durable positions for pull consumers: native
// subscriptions, Zulip event queues and Jetstream subscriptions. A cursor is
// a filter, an acknowledged position, at most one pending batch and an idle
// expiry, stored in the engine's KV with compare-and-set so that any herald
// node can serve any cursor and concurrent updates never lose an ack.
package cursor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// Sentinel errors callers branch on.
var (
	ErrNotFound      = errors.New("cursor not found")
	ErrExists        = errors.New("cursor exists")
	ErrBatchNotFound = errors.New("batch not found")
	ErrInvalid       = errors.New("invalid cursor")
	// ErrExpired wraps *eventlog.ExpiredError when the position fell out of
	// retention; an idle-expired cursor gives ErrNotFound (it is gone).
	ErrExpired = eventlog.ErrExpired
)

// Log is what cursors need from the event log.
type Log interface {
	Read(ctx context.Context, after uint64, f topic.Filter, max int) ([]eventlog.Event, uint64, error)
	Bounds(ctx context.Context) (first, last uint64, err error)
}

// Waiter blocks until an event matching f after a position exists (the hub).
type Waiter interface {
	Wait(ctx context.Context, after uint64, f topic.Filter) error
}

// State is a cursor as stored. Its Filter and Meta are never changed in
// place, only replaced: copies of a State share them.
type State struct {
	ID         string          `json:"id"`
	Filter     topic.Filter    `json:"filter"`
	Acked      uint64          `json:"acked"` // every matching event up to here is acknowledged
	Batch      *Batch          `json:"batch,omitempty"`
	AckedBatch string          `json:"acked_batch,omitempty"` // the last batch acknowledged by id (see AckBatch)
	Owner      string          `json:"owner,omitempty"`       // key ID that created it
	Meta       json.RawMessage `json:"meta,omitempty"`        // the dialect's own data
	IdleTTL    time.Duration   `json:"idle_ttl,omitempty"`
	Created    time.Time       `json:"created"`
	LastActive time.Time       `json:"last_active"`
	rev        uint64
	// stale marks a state this store remembered (Recent) rather than read
	// or stored just now: another node may have changed it since.
	stale bool
}

// Batch is the pending batch: the events after Acked up to Through, handed
// out under ID until it is acknowledged.
type Batch struct {
	ID      string    `json:"id"`
	Through uint64    `json:"through"`
	Count   int       `json:"count"`
	Created time.Time `json:"created"`
}

// ExpiresAt returns when an idle cursor expires (zero if never).
func (s *State) ExpiresAt() time.Time {
	if s.IdleTTL <= 0 {
		return time.Time{}
	}
	return s.LastActive.Add(s.IdleTTL)
}

// Spec creates a cursor.
type Spec struct {
	Filter  topic.Filter
	After   uint64 // start position: events with Seq > After are pending
	Owner   string
	Meta    json.RawMessage
	IdleTTL time.Duration // 0: never expires
}

// Fetched is what Fetch returns: the pending batch's id and its events.
type Fetched struct {
	BatchID string
	Events  []eventlog.Event
	State   State
}

// Config tunes a Store.
type Config struct {
	// SweepEvery is how often Run deletes idle-expired cursors (default 1m).
	SweepEvery time.Duration
	Logger     *slog.Logger
	// Now is the clock (tests move it); default time.Now.
	Now func() time.Time
}

// Store manages cursors in one KV bucket.
type Store struct {
	kv    eventlog.KV
	log   Log
	wait  Waiter
	cfg   Config
	known known // followed cursors, as last read (see Known)
	views views // watched followed cursors (see WatchFollowed)
	// recent holds the cursors asked for through Recent, as this store
	// last read or stored them; known's tombstones and epochs are not
	// used here.
	recent known
	hold   time.Duration // changeHold; tests change it
}

// New returns a Store over kv.
func New(kv eventlog.KV, log Log, wait Waiter, cfg Config) *Store {
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{kv: kv, log: log, wait: wait, cfg: cfg, known: known{limit: knownCursors}, recent: known{limit: knownCursors},
		hold: changeHold}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// ValidID reports whether id can name a cursor: dot-separated tokens of
// letters, digits, '-' and '_' (a dialect prefixes its own namespace).
func ValidID(id string) error {
	if len(id) > 200 || !idPattern.MatchString(id) {
		return fmt.Errorf("%w: id %q: use letters, digits, '-', '_' (at most 200)", ErrInvalid, id)
	}
	return nil
}

// Create stores a new cursor; ErrExists if id is taken by a live cursor.
func (s *Store) Create(ctx context.Context, id string, spec Spec) (State, error) {
	if err := ValidID(id); err != nil {
		return State{}, err
	}
	now := s.cfg.Now()
	st := State{ID: id, Filter: spec.Filter, Acked: spec.After, Owner: spec.Owner, Meta: spec.Meta,
		IdleTTL: spec.IdleTTL, Created: now, LastActive: now}
	b, err := encode(&st)
	if err != nil {
		return State{}, err
	}
	rev, err := s.kv.Create(ctx, id, b)
	if errors.Is(err, eventlog.ErrConflict) {
		// Taken, unless by an idle-expired cursor no sweep removed yet:
		// Get deletes that one, and the name is free again.
		if _, gerr := s.Get(ctx, id); errors.Is(gerr, ErrNotFound) {
			rev, err = s.kv.Create(ctx, id, b)
		}
	}
	if err != nil {
		if errors.Is(err, eventlog.ErrConflict) {
			return State{}, fmt.Errorf("cursor %s: %w", id, ErrExists)
		}
		return State{}, fmt.Errorf("cursor %s: %w", id, err)
	}
	st.rev = rev
	s.remember(st)
	return st, nil
}

// Get returns a live cursor; an idle-expired one is deleted and reported as
// ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (State, error) {
	if err := ValidID(id); err != nil {
		return State{}, fmt.Errorf("cursor %s: %w", id, ErrNotFound)
	}
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		s.forget(id)
		return State{}, fmt.Errorf("cursor %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return State{}, fmt.Errorf("cursor %s: %w", id, err)
	}
	st, err := decode(e)
	if err != nil {
		return State{}, err
	}
	if s.expired(&st) {
		_ = s.kv.Delete(ctx, id, st.rev)
		s.forget(id)
		return State{}, fmt.Errorf("cursor %s: idle since %s: %w", id, st.LastActive.Format(time.RFC3339), ErrNotFound)
	}
	s.remember(st)
	return st, nil
}

// Recent returns the cursor id as this store last read or stored it,
// without a round trip, else reads it as Get does. What it remembers may
// be stale: another node may have changed or deleted the cursor since. It
// is the start of Poll, AckFrom and AckUpToFrom, which find that out: their
// compare-and-set fails on a changed cursor, and before they answer from a
// remembered state without a write, or fail on one, they read it (Poll
// while it waits may so learn of another node's change only when the wait
// ends, or when it is woken).
func (s *Store) Recent(ctx context.Context, id string) (State, error) {
	if st, ok := s.recent.get(id); ok && !s.expired(&st) {
		st.stale = true
		return st, nil
	}
	st, err := s.Get(ctx, id)
	if err == nil {
		s.recent.put(st, 0)
	}
	return st, err
}

// remember refreshes what the store remembers of st's cursor after a read
// or write of it, if Recent asked for it before: the cursors of dialects
// that do not start from Recent are not kept for nothing.
func (s *Store) remember(st State) {
	if _, ok := s.recent.lookup(st.ID); ok {
		s.recent.put(st, 0)
	}
}

// forget drops what the store remembers of the cursor id, gone.
func (s *Store) forget(id string) {
	s.known.forget(id)
	s.recent.forget(id)
}

func decode(e eventlog.Entry) (State, error) {
	var st State
	if err := json.Unmarshal(e.Value, &st); err != nil {
		return State{}, fmt.Errorf("cursor %s: stored state: %w", e.Key, err)
	}
	st.rev = e.Revision
	return st, nil
}

func (s *Store) expired(st *State) bool {
	exp := st.ExpiresAt()
	return !exp.IsZero() && s.cfg.Now().After(exp)
}

// List returns the live cursors whose ids start with prefix ("" or ending in ".").
func (s *Store) List(ctx context.Context, prefix string) ([]State, error) {
	ents, err := s.kv.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("cursor: list: %w", err)
	}
	out := make([]State, 0, len(ents))
	for _, e := range ents {
		st, err := decode(e)
		if err != nil {
			s.cfg.Logger.Warn("cursor: skipping unreadable state", "err", err)
			continue
		}
		if !s.expired(&st) {
			out = append(out, st)
		}
	}
	return out, nil
}

// Delete removes a cursor; ErrNotFound if there is none.
func (s *Store) Delete(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, id, 0); err != nil {
		return fmt.Errorf("cursor %s: %w", id, err)
	}
	s.forget(id)
	return nil
}

// update applies fn to the current state and stores it with compare-and-set,
// retrying when another node changed the cursor in between. from, if not
// nil, is the state as the caller last read it: the first try starts from
// it instead of reading the cursor again (and if fn refuses a remembered
// one, the second from the cursor as stored).
func (s *Store) update(ctx context.Context, id string, from *State, fn func(*State) error) (State, error) {
	for attempt := 0; ; attempt++ {
		var st State
		var err error
		if attempt == 0 && from != nil && from.ID == id && from.rev > 0 && !s.expired(from) {
			st = from.clone()
		} else if st, err = s.Get(ctx, id); err != nil {
			return State{}, err
		}
		if err := fn(&st); err != nil {
			if st.stale {
				continue
			}
			return State{}, err
		}
		st.stale = false
		b, err := encode(&st)
		if err != nil {
			return State{}, err
		}
		rev, err := s.kv.Update(ctx, id, b, st.rev)
		if err == nil {
			st.rev = rev
			s.remember(st)
			return st, nil
		}
		if !errors.Is(err, eventlog.ErrConflict) || attempt == 20 {
			return State{}, fmt.Errorf("cursor %s: %w", id, err)
		}
	}
}

// Ack acknowledges the pending batch batchID; ErrBatchNotFound if it is not
// the cursor's pending batch (already acknowledged, or never issued).
func (s *Store) Ack(ctx context.Context, id, batchID string) (State, error) {
	return s.ack(ctx, id, nil, batchID)
}

// AckFrom is Ack for a caller that holds the cursor's state st (from Get):
// it writes with compare-and-set on st's revision and reads the cursor only
// if it changed since.
func (s *Store) AckFrom(ctx context.Context, st State, batchID string) (State, error) {
	return s.ack(ctx, st.ID, &st, batchID)
}

func (s *Store) ack(ctx context.Context, id string, from *State, batchID string) (State, error) {
	return s.update(ctx, id, from, func(c *State) error {
		if c.Batch == nil || c.Batch.ID != batchID {
			return fmt.Errorf("cursor %s: batch %q: %w", id, batchID, ErrBatchNotFound)
		}
		ackBatch(c)
		c.LastActive = s.cfg.Now()
		return nil
	})
}

// ackBatch acknowledges c's pending batch.
func ackBatch(c *State) {
	c.Acked = max(c.Acked, c.Batch.Through)
	c.AckedBatch, c.Batch = c.Batch.ID, nil
}

// AckBatch returns a PollRequest.Change that acknowledges the pending batch
// batchID, as Ack does, before the poll fetches: ErrBatchNotFound if it is
// not pending, unless it is the batch last acknowledged (the request sent
// again after its answer was lost), which is done already.
func AckBatch(batchID string) func(*State) error {
	return func(c *State) error {
		switch {
		case c.Batch != nil && c.Batch.ID == batchID:
			ackBatch(c)
		case batchID == "" || c.AckedBatch != batchID:
			return fmt.Errorf("cursor %s: batch %q: %w", c.ID, batchID, ErrBatchNotFound)
		}
		return nil
	}
}

// AckUpTo acknowledges every event with Seq <= seq. A pending batch that it
// covers only in part is dropped: the next Fetch forms a new one.
func (s *Store) AckUpTo(ctx context.Context, id string, seq uint64) (State, error) {
	return s.ackUpTo(ctx, id, nil, seq)
}

// AckUpToFrom is AckUpTo for a caller that holds the cursor's state st, as
// AckFrom is Ack's.
func (s *Store) AckUpToFrom(ctx context.Context, st State, seq uint64) (State, error) {
	return s.ackUpTo(ctx, st.ID, &st, seq)
}

func (s *Store) ackUpTo(ctx context.Context, id string, from *State, seq uint64) (State, error) {
	return s.update(ctx, id, from, func(c *State) error {
		if seq > c.Acked {
			c.Acked = seq
			c.Batch = nil
		}
		c.LastActive = s.cfg.Now()
		return nil
	})
}

// Touch marks the cursor active without changing its position.
func (s *Store) Touch(ctx context.Context, id string) (State, error) {
	return s.update(ctx, id, nil, func(c *State) error {
		c.LastActive = s.cfg.Now()
		return nil
	})
}

// Modify changes a cursor's filter, TTL or meta with fn (position untouched,
// except that a changed filter drops the pending batch).
func (s *Store) Modify(ctx context.Context, id string, fn func(*State)) (State, error) {
	return s.update(ctx, id, nil, func(c *State) error {
		before := c.Filter.String()
		fn(c)
		if c.Filter.String() != before {
			c.Batch = nil
		}
		c.LastActive = s.cfg.Now()
		return nil
	})
}

// Pending returns how many events after the cursor's position are still
// to be delivered, counting at most limit (the count is for display).
func (s *Store) Pending(ctx context.Context, st State, limit int) (int, error) {
	n, after := 0, st.Acked
	for n < limit {
		evs, next, err := s.log.Read(ctx, after, st.Filter, min(limit-n, eventlog.MaxRead))
		if err != nil {
			return 0, err
		}
		n += len(evs)
		if next == after || len(evs) == 0 {
			break
		}
		after = next
	}
	return n, nil
}

// Sweep deletes every idle-expired cursor and returns how many it deleted.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	ents, err := s.kv.List(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("cursor: sweep: %w", err)
	}
	n := 0
	for _, e := range ents {
		st, err := decode(e)
		if err != nil || !s.expired(&st) {
			continue
		}
		// Compare-and-set: a cursor used on another node meanwhile survives.
		if s.kv.Delete(ctx, e.Key, st.rev) == nil {
			s.recent.forget(e.Key)
			n++
		}
	}
	return n, nil
}

// Run sweeps expired cursors periodically until ctx ends.
func (s *Store) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Sweep(ctx); err != nil {
				s.cfg.Logger.Warn("cursor sweep", "err", err)
			} else if n > 0 {
				s.cfg.Logger.Info("expired idle cursors", "count", n)
			}
		}
	}
}
