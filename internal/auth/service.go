package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/herald-io/herald/internal/eventlog"
)

// Defaults for Config fields left zero.
const (
	DefaultRate        = 1000.0 // requests per second per key
	DefaultBurst       = 2000
	DefaultMaxLimiters = 10000
)

// kvPrefix is the part of the bucket that holds keys.
const kvPrefix = "key."

// Unknown key ids make Authenticate ask the engine (the key may have been
// created on another node a moment ago). These bound how often, so that a
// flood of made-up tokens cannot turn into a flood of engine reads.
const (
	missRate  = 100
	missBurst = 100
)

// Config configures a Service.
type Config struct {
	// Rate is the default per-key request rate, per second; a key's own
	// Rate overrides it. math.Inf(1) disables rate limiting.
	Rate float64
	// Burst is how many requests a key may make at once.
	Burst int
	// MaxLimiters bounds the number of per-key rate limiters kept in memory.
	MaxLimiters int
	Logger      *slog.Logger
	// Now is the clock of the rate limits (tests stop it); default time.Now.
	Now func() time.Time
}

// Service manages keys and authenticates tokens. It is safe for concurrent use.
type Service struct {
	kv  eventlog.KV
	cfg Config
	log *slog.Logger
	now func() time.Time // replaced in tests

	// dummy is compared against when a token names no known key, so an
	// unknown id costs the same hash and compare as a wrong secret.
	dummy [32]byte

	cache

	missLim *rate.Limiter

	rate     atomic.Pointer[defaultRate] // Config.Rate and Burst, or SetRate's
	limMu    sync.Mutex
	limiters map[string]*limiter

	runMu   sync.Mutex
	started bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a Service storing keys in kv. Call Start before relying on
// changes made by other nodes.
func New(kv eventlog.KV, cfg Config) *Service {
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.MaxLimiters <= 0 {
		cfg.MaxLimiters = DefaultMaxLimiters
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		kv:       kv,
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		cache:    cache{keys: map[string]*cached{}, aliases: map[string]*cachedAlias{}},
		missLim:  rate.NewLimiter(missRate, missBurst),
		limiters: map[string]*limiter{},
	}
	rand.Read(s.dummy[:])
	s.SetRate(cfg.Rate, cfg.Burst)
	return s
}

// Start loads every key and alias into memory and then follows changes to
// the bucket until ctx ends or Close is called. It returns once they are
// loaded.
func (s *Service) Start(ctx context.Context) error {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.started {
		return errors.New("auth: service already started")
	}
	entries, err := s.kv.List(ctx, kvPrefix)
	if err == nil {
		var aliases []eventlog.Entry
		aliases, err = s.kv.List(ctx, aliasPrefix)
		entries = append(entries, aliases...)
	}
	if err != nil {
		return fmt.Errorf("auth: load keys: %w", err)
	}
	for _, e := range entries {
		s.apply(e)
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.started = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		eventlog.Follow(ctx, s.log, "key", s.watchOnce)
	}()
	s.log.Debug("keys loaded", "count", len(entries))
	return nil
}

// Close stops following the bucket and waits for that to end.
func (s *Service) Close() {
	s.runMu.Lock()
	cancel := s.cancel
	s.runMu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.wg.Wait()
}

// Create stores a new key described by spec and returns it with its token.
// The token is returned only here: herald keeps just its hash.
func (s *Service) Create(ctx context.Context, spec Spec) (Key, string, error) {
	k, err := spec.validate()
	if err != nil {
		return Key{}, "", err
	}
	k.Created = s.now().UTC()
	// Ids are random; a collision is astronomically unlikely, but Create's
	// compare-and-set makes it harmless, so retry rather than overwrite.
	for range 3 {
		k.ID = newID()
		secret := newSecret()
		sum := hashSecret(secret)
		k.Hash = hex.EncodeToString(sum[:])
		data, err := encodeKey(k)
		if err != nil {
			return Key{}, "", fmt.Errorf("auth: encode key: %w", err)
		}
		_, err = s.kv.Create(ctx, kvPrefix+k.ID, data)
		if errors.Is(err, eventlog.ErrConflict) {
			continue
		}
		if err != nil {
			return Key{}, "", fmt.Errorf("auth: create key: %w", err)
		}
		// Usable on this node at once, without waiting for the watch.
		s.insert(k, sum, false)
		s.log.Info("key created", "id", k.ID, "name", k.Name, "admin", k.Admin, "dialect", k.Dialect)
		return k.clone(), formatToken(k.ID, secret), nil
	}
	return Key{}, "", errors.New("auth: create key: could not find a free id")
}

// List returns every key, oldest first.
func (s *Service) List(ctx context.Context) ([]Key, error) {
	entries, err := s.kv.List(ctx, kvPrefix)
	if err != nil {
		return nil, fmt.Errorf("auth: list keys: %w", err)
	}
	keys := make([]Key, 0, len(entries))
	for _, e := range entries {
		k, _, err := decodeKey(e.Value)
		if err != nil {
			s.log.Warn("skipping damaged key record", "kv", e.Key, "err", err)
			continue
		}
		keys = append(keys, *k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return keys, nil
}

// Get returns the key with the given id, or an error wrapping ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (Key, error) {
	if !validID(id) {
		return Key{}, fmt.Errorf("auth: key %q: %w", id, ErrNotFound)
	}
	e, err := s.kv.Get(ctx, kvPrefix+id)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return Key{}, fmt.Errorf("auth: key %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Key{}, fmt.Errorf("auth: get key %s: %w", id, err)
	}
	k, _, err := decodeKey(e.Value)
	if err != nil {
		return Key{}, fmt.Errorf("auth: key %s: %w", id, err)
	}
	return *k, nil
}

// Revoke deletes the key with the given id; its token stops working on
// this node at once and on other nodes as soon as their watch sees it.
func (s *Service) Revoke(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("auth: key %q: %w", id, ErrNotFound)
	}
	// Read without decoding, so that even a damaged record can be revoked.
	e, err := s.kv.Get(ctx, kvPrefix+id)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return fmt.Errorf("auth: key %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("auth: revoke key %s: %w", id, err)
	}
	// Delete only the revision just read: if it changed meanwhile, someone
	// else revoked it first.
	if err := s.kv.Delete(ctx, kvPrefix+id, e.Revision); err != nil {
		if errors.Is(err, eventlog.ErrConflict) || errors.Is(err, eventlog.ErrKeyNotFound) {
			return fmt.Errorf("auth: key %s: %w", id, ErrNotFound)
		}
		return fmt.Errorf("auth: revoke key %s: %w", id, err)
	}
	s.remove(id, true, false)
	s.forgetLimiter(id)
	s.log.Info("key revoked", "id", id)
	return nil
}

// Authenticate returns the key a token belongs to. An unknown, wrong or
// malformed token gives an error wrapping ErrUnauthorized; any other error
// means the engine could not be asked (the caller should answer 503).
// The returned key is shared and must not be modified.
func (s *Service) Authenticate(ctx context.Context, token string) (*Key, error) {
	id, secret, err := ParseToken(token)
	if err != nil {
		return nil, err
	}
	c, err := s.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	// Unknown id and wrong secret take the same path: hash, then compare
	// in constant time, against a random dummy when there is no key.
	want := &s.dummy
	if c != nil {
		want = &c.hash
	}
	got := hashSecret(secret)
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || c == nil {
		return nil, ErrUnauthorized
	}
	c.touch(s.now())
	return c.key, nil
}

// LastUsed returns when this node last authenticated the key id (by its
// token or an alias), to the second; zero if it has not since it started,
// or the key is unknown. It is this node's view only: other nodes may have
// seen a later use.
func (s *Service) LastUsed(id string) time.Time {
	c := s.cached(id)
	if c == nil {
		return time.Time{}
	}
	if u := c.used.Load(); u != 0 {
		return time.Unix(u, 0).UTC()
	}
	return time.Time{}
}

// readMiss reads the entry name (a key id or an alias name) that the
// cache does not hold from the engine, unless this node removed it or the
// miss limiter says no: a flood of made-up credentials must not become a
// flood of engine reads. found is false for an entry not read or missing;
// gen is the cache's removal count before the read (see insertIfUnchanged).
func (s *Service) readMiss(ctx context.Context, prefix, name string) (e eventlog.Entry, gen uint64, found bool, err error) {
	if s.isRevoked(name) {
		return e, 0, false, nil
	}
	if !s.missLim.AllowN(s.now(), 1) {
		s.log.Debug("unknown credential not looked up: too many misses", "name", name)
		return e, 0, false, nil
	}
	gen = s.removals()
	e, err = s.kv.Get(ctx, prefix+name)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return e, gen, false, nil
	}
	if err != nil {
		return e, gen, false, fmt.Errorf("auth: look up %s: %w", name, err)
	}
	return e, gen, true, nil
}

// lookup finds a key in memory, or else in the engine, since it may have
// been created on another node before this node's watch delivered it. It
// returns nil, nil for a key that does not exist.
func (s *Service) lookup(ctx context.Context, id string) (*cached, error) {
	if c := s.cached(id); c != nil {
		return c, nil
	}
	e, gen, found, err := s.readMiss(ctx, kvPrefix, id)
	if !found {
		return nil, err
	}
	k, sum, err := decodeKey(e.Value)
	if err != nil {
		s.log.Warn("damaged key record", "kv", e.Key, "err", err)
		return nil, nil
	}
	return s.insertIfUnchanged(k, sum, gen), nil
}
