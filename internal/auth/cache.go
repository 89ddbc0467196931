package auth

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// cache is this node's copy of the key bucket, kept current by watch:
// the keys by id and their aliases by name (see alias.go).
type cache struct {
	mu      sync.RWMutex
	keys    map[string]*cached
	aliases map[string]*cachedAlias
	// seq numbers insertions, so a resynchronisation can tell entries that
	// predate it from ones added while it ran.
	seq uint64
	// gone counts removals, so a lookup that read the engine can tell
	// whether a revocation raced with it.
	gone uint64
	// revoked holds keys revoked by this node until the watch delivers
	// their deletion: until then the watch may still deliver the key's
	// earlier creation, which must not bring it back.
	revoked map[string]struct{}
}

type cached struct {
	key  *Key
	hash [32]byte
	seq  uint64
	// used is when this node last authenticated the key (unix seconds):
	// in memory only, since keys are immutable records every node caches,
	// and a write per use would be a watch event on every node.
	used atomic.Int64
}

// touch records a use at now, writing only when the second changed, so
// that the requests of a busy key do not all write the same cache line.
func (c *cached) touch(now time.Time) {
	if s := now.Unix(); c.used.Load() != s {
		c.used.Store(s)
	}
}

func (c *cache) cached(id string) *cached {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.keys[id]
}

// insert stores k; with onlyNew it keeps an entry already present.
func (c *cache) insert(k *Key, hash [32]byte, onlyNew bool) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.insertLocked(k, hash, onlyNew)
}

func (c *cache) insertLocked(k *Key, hash [32]byte, onlyNew bool) *cached {
	if _, ok := c.revoked[k.ID]; ok {
		return nil
	}
	if old := c.keys[k.ID]; old != nil && onlyNew {
		return old
	}
	c.seq++
	e := &cached{key: k, hash: hash, seq: c.seq}
	if old := c.keys[k.ID]; old != nil {
		e.used.Store(old.used.Load()) // the same key read again: keep its use
	}
	c.keys[k.ID] = e
	return e
}

// insertIfUnchanged stores k read from the engine unless a key was removed
// since removals() returned gen: that removal may have been k's own
// revocation, delivered before the read's answer, and caching k then would
// resurrect it. Revocations are rare, so being conservative costs little.
func (c *cache) insertIfUnchanged(k *Key, hash [32]byte, gen uint64) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone != gen {
		return c.keys[k.ID]
	}
	return c.insertLocked(k, hash, true)
}

func (c *cache) removals() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gone
}

// remove drops id (a key's, or an alias's name) from the cache. With
// revoked, it also remembers id until the watch delivers the deletion
// (deleted) or shows it gone.
func (c *cache) remove(id string, revoked, deleted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.keys, id)
	delete(c.aliases, id)
	c.gone++
	switch {
	case revoked:
		if c.revoked == nil {
			c.revoked = map[string]struct{}{}
		}
		c.revoked[id] = struct{}{}
	case deleted:
		delete(c.revoked, id)
	}
}

func (c *cache) isRevoked(id string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.revoked[id]
	return ok
}

// sweep removes the entries inserted up to seq whose ids are not in keep,
// and returns how many it removed. It is called when a watch has replayed
// the bucket (keep), which also settles revocations of keys not replayed:
// no deletion will follow for them.
func (c *cache) sweep(seq uint64, keep map[string]bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.revoked {
		if !keep[id] {
			delete(c.revoked, id)
		}
	}
	n := 0
	for id, e := range c.keys {
		if e.seq <= seq && !keep[id] {
			delete(c.keys, id)
			n++
		}
	}
	for name, a := range c.aliases {
		if a.seq <= seq && !keep[name] {
			delete(c.aliases, name)
			n++
		}
	}
	if n > 0 {
		c.gone++
	}
	return n
}

func (c *cache) lastSeq() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.seq
}

// applyPut caches a stored record; a damaged one evicts any cached copy so
// that it cannot keep authenticating.
func (s *Service) applyPut(e eventlog.Entry) {
	id := strings.TrimPrefix(e.Key, kvPrefix)
	k, sum, err := decodeKey(e.Value)
	if err != nil || k.ID != id {
		s.log.Warn("ignoring damaged key record", "kv", e.Key, "err", err)
		s.remove(id, false, false)
		return
	}
	s.insert(k, sum, false)
}

// apply caches a stored key or alias.
func (s *Service) apply(e eventlog.Entry) {
	if strings.HasPrefix(e.Key, aliasPrefix) {
		s.applyAlias(e)
	} else {
		s.applyPut(e)
	}
}

// watchOnce runs one KV watch of the keys and aliases. The watch first
// replays every existing entry and then marks the end of that replay with
// an empty entry (Key ""); at the marker, cached entries that were not
// replayed were deleted while this node was not watching, and are dropped.
// That includes entries cached while the watch was being set up, before
// its snapshot: no deletion follows for one removed in between. (One cached
// after the snapshot is dropped too; its creation follows the marker.)
func (s *Service) watchOnce(ctx context.Context) error {
	replayed := map[string]bool{}
	return s.kv.Watch(ctx, "", func(e eventlog.Entry) {
		id, isKey := strings.CutPrefix(e.Key, kvPrefix)
		if !isKey {
			var isAlias bool
			if id, isAlias = strings.CutPrefix(e.Key, aliasPrefix); !isAlias && e.Key != "" {
				return // not ours
			}
		}
		switch {
		case e.Key == "":
			if replayed == nil {
				return
			}
			if n := s.sweep(s.lastSeq(), replayed); n > 0 {
				s.log.Info("dropped keys deleted while unwatched", "count", n)
			}
			replayed = nil
		case e.Value == nil:
			s.remove(id, false, true)
			if isKey {
				s.forgetLimiter(id)
			}
		default:
			if replayed != nil {
				replayed[id] = true
			}
			s.apply(e)
		}
	})
}
