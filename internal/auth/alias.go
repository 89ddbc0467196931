package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// An alias is a second credential of a key, for clients that present
// something other than a herald token (a Jetstream AccessKey, a GUID). It
// is kept as a key's secret is: only its SHA-256 is stored, under
// "alias.<namespace>.<first 16 hex digits of the digest>", and the whole
// digest is compared in constant time. Every node caches the aliases with
// the keys and follows them with the same watch, and looks one it does not
// know up in the engine only under the limiter that bounds unknown key ids.
// An alias grants nothing of its own: it authenticates as its key, so
// revoking the key locks the alias out too.

const (
	aliasPrefix = "alias."
	// aliasIndexLen is the hex digits of the digest that name an alias.
	aliasIndexLen = 16
	// Alias secrets are long and random, like a token's, which is what
	// makes a fast hash enough.
	minAliasSecret = 16
	maxAliasSecret = 256
)

// ErrAliasTaken means the alias names another key, or a record that
// cannot be read.
var ErrAliasTaken = errors.New("alias taken")

// aliasRecord is an alias as stored.
type aliasRecord struct {
	Namespace string    `json:"namespace"`
	KeyID     string    `json:"key_id"`
	Hash      string    `json:"sha256"`
	Created   time.Time `json:"created"`
}

// cachedAlias is an alias in this node's cache.
type cachedAlias struct {
	keyID string
	hash  [sha256.Size]byte
	seq   uint64
}

// aliasName is the cache's and the bucket's name of an alias (without the
// bucket's prefix). It has a dot and a key id has none, so the cache's
// sets of names (revoked, replayed) serve both.
func aliasName(namespace string, sum [sha256.Size]byte) string {
	return namespace + "." + hex.EncodeToString(sum[:aliasIndexLen/2])
}

func validNamespace(ns string) bool { return ns != "" && validDialect(ns) }

// CreateAlias makes secret, in namespace (a dialect's name), a credential of
// the key keyID: AuthenticateAlias(namespace, secret) returns that key.
// Making the same alias of the same key again is not an error, so several
// nodes may do it at once. It is usable on this node at once, on others as
// soon as they look for it.
func (s *Service) CreateAlias(ctx context.Context, namespace, secret, keyID string) error {
	if len(secret) < minAliasSecret || len(secret) > maxAliasSecret {
		return fmt.Errorf("%w: an alias secret is %d to %d bytes", ErrInvalid, minAliasSecret, maxAliasSecret)
	}
	return s.ImportAlias(ctx, namespace, hashSecret(secret), keyID)
}

// ImportAlias is CreateAlias for a secret known only by its SHA-256: one a
// dialect stored itself before aliases existed.
func (s *Service) ImportAlias(ctx context.Context, namespace string, sum [sha256.Size]byte, keyID string) error {
	if !validNamespace(namespace) || !validID(keyID) {
		return fmt.Errorf("%w: alias namespace %q, key %q", ErrInvalid, namespace, keyID)
	}
	name := aliasName(namespace, sum)
	if a := s.cachedAlias(name); a != nil && a.keyID == keyID && a.hash == sum {
		return nil
	}
	rec := aliasRecord{Namespace: namespace, KeyID: keyID, Hash: hex.EncodeToString(sum[:]), Created: s.now().UTC()}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("auth: encode alias: %w", err)
	}
	_, err = s.kv.Create(ctx, aliasPrefix+name, data)
	if errors.Is(err, eventlog.ErrConflict) {
		// Made already: by another node migrating the same alias, say.
		e, gerr := s.kv.Get(ctx, aliasPrefix+name)
		if gerr != nil {
			return fmt.Errorf("auth: create alias %s: %w", name, gerr)
		}
		if got, dsum, derr := decodeAlias(name, e.Value); derr != nil || got.KeyID != keyID || dsum != sum {
			return fmt.Errorf("auth: alias %s: %w", name, ErrAliasTaken)
		}
		err = nil
	}
	if err != nil {
		return fmt.Errorf("auth: create alias %s: %w", name, err)
	}
	s.insertAlias(name, keyID, sum, true)
	s.log.Info("alias created", "namespace", namespace, "key", keyID)
	return nil
}

// AuthenticateAlias returns the key that secret is an alias of in
// namespace. An unknown or wrong alias, or one whose key is gone, gives
// ErrUnauthorized; any other error means the engine could not be asked.
// The returned key is shared and must not be modified.
func (s *Service) AuthenticateAlias(ctx context.Context, namespace, secret string) (*Key, error) {
	if !validNamespace(namespace) || len(secret) < minAliasSecret || len(secret) > maxAliasSecret {
		return nil, ErrUnauthorized
	}
	sum := hashSecret(secret)
	a, err := s.lookupAlias(ctx, aliasName(namespace, sum))
	if err != nil {
		return nil, err
	}
	// As in Authenticate: hash and compare whether or not it is known.
	want := &s.dummy
	if a != nil {
		want = &a.hash
	}
	if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 || a == nil {
		return nil, ErrUnauthorized
	}
	c, err := s.lookup(ctx, a.keyID)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, ErrUnauthorized
	}
	c.touch(s.now())
	return c.key, nil
}

// RemoveAliases deletes every alias of the key keyID in namespace and
// returns how many it deleted. They stop working on this node at once and
// on the others when their watch delivers the deletion.
func (s *Service) RemoveAliases(ctx context.Context, namespace, keyID string) (int, error) {
	if !validNamespace(namespace) {
		return 0, fmt.Errorf("%w: alias namespace %q", ErrInvalid, namespace)
	}
	ents, err := s.kv.List(ctx, aliasPrefix+namespace+".")
	if err != nil {
		return 0, fmt.Errorf("auth: list aliases: %w", err)
	}
	n := 0
	for _, e := range ents {
		name := strings.TrimPrefix(e.Key, aliasPrefix)
		if rec, _, err := decodeAlias(name, e.Value); err != nil || rec.KeyID != keyID {
			continue
		}
		err := s.kv.Delete(ctx, e.Key, e.Revision)
		switch {
		case err == nil:
			s.remove(name, true, false)
			n++
		case errors.Is(err, eventlog.ErrConflict), errors.Is(err, eventlog.ErrKeyNotFound):
			// Changed or deleted meanwhile, elsewhere: the watch brings it.
		default:
			return n, fmt.Errorf("auth: remove alias %s: %w", name, err)
		}
	}
	return n, nil
}

// lookupAlias finds an alias in memory, or else in the engine under the
// miss limiter; nil, nil for one that does not exist.
func (s *Service) lookupAlias(ctx context.Context, name string) (*cachedAlias, error) {
	if a := s.cachedAlias(name); a != nil {
		return a, nil
	}
	e, gen, found, err := s.readMiss(ctx, aliasPrefix, name)
	if !found {
		return nil, err
	}
	rec, sum, err := decodeAlias(name, e.Value)
	if err != nil {
		s.log.Warn("damaged alias record", "kv", e.Key, "err", err)
		return nil, nil
	}
	return s.insertAliasIfUnchanged(name, rec.KeyID, sum, gen), nil
}

// decodeAlias parses a stored alias named name and checks what
// authentication relies on, so a damaged record authenticates no one.
func decodeAlias(name string, data []byte) (aliasRecord, [sha256.Size]byte, error) {
	var rec aliasRecord
	var sum [sha256.Size]byte
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, sum, fmt.Errorf("decode alias: %w", err)
	}
	if n, err := hex.Decode(sum[:], []byte(rec.Hash)); err != nil || n != len(sum) || len(rec.Hash) != 2*len(sum) {
		return rec, sum, fmt.Errorf("decode alias %s: bad hash", name)
	}
	if !validNamespace(rec.Namespace) || !validID(rec.KeyID) || aliasName(rec.Namespace, sum) != name {
		return rec, sum, fmt.Errorf("decode alias %s: bad namespace, key or name", name)
	}
	return rec, sum, nil
}

// applyAlias caches a stored alias; a damaged one evicts any cached copy.
func (s *Service) applyAlias(e eventlog.Entry) {
	name := strings.TrimPrefix(e.Key, aliasPrefix)
	rec, sum, err := decodeAlias(name, e.Value)
	if err != nil {
		s.log.Warn("ignoring damaged alias record", "kv", e.Key, "err", err)
		s.remove(name, false, false)
		return
	}
	s.insertAlias(name, rec.KeyID, sum, false)
}

func (c *cache) cachedAlias(name string) *cachedAlias {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.aliases[name]
}

// insertAlias caches an alias. With created (this node just stored it) it
// forgets an earlier removal of the same alias by this node.
func (c *cache) insertAlias(name, keyID string, sum [sha256.Size]byte, created bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if created {
		delete(c.revoked, name)
	}
	c.insertAliasLocked(name, keyID, sum)
}

func (c *cache) insertAliasLocked(name, keyID string, sum [sha256.Size]byte) *cachedAlias {
	if _, ok := c.revoked[name]; ok {
		return nil
	}
	c.seq++
	a := &cachedAlias{keyID: keyID, hash: sum, seq: c.seq}
	c.aliases[name] = a
	return a
}

// insertAliasIfUnchanged is insertIfUnchanged for an alias read from the
// engine: a removal since gen may have been its own.
func (c *cache) insertAliasIfUnchanged(name, keyID string, sum [sha256.Size]byte, gen uint64) *cachedAlias {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone != gen {
		return c.aliases[name]
	}
	if a := c.aliases[name]; a != nil {
		return a
	}
	return c.insertAliasLocked(name, keyID, sum)
}
