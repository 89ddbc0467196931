package zulip

import (
	"sync"
	"sync/atomic"
)

// eventCache keeps what delivery derives from a stored event, by log
// position, so that every queue receiving the event shares it: the event
// parsed, a message's Markdown rendered and sanitized, and each variant of
// the Zulip event that queues receive encoded (see prepared), once per
// process, not once per queue. (The hub caches each event's encodings for
// streams, but cursor polls hand out copies of the log's events, which
// carry no cache.)
//
// It holds about limit bytes in two generations: when the newer is full it
// becomes the older and the older is dropped. Queues read the log in
// order, so what they ask for is recent. Safe for concurrent use: an entry
// is built once, outside the lock, while the others that ask for it wait
// (a message wakes every queue at once).
type eventCache struct {
	mu       sync.RWMutex
	cur, old map[uint64]*cacheEntry
	size     atomic.Int64 // bytes held by cur's entries
	limit    int64
}

type cacheEntry struct {
	once sync.Once
	p    *prepared
	size atomic.Int64 // the entry's bytes: what it was built with, and its encodings
}

// eventCacheBytes bounds what the cache holds.
const eventCacheBytes = 16 << 20

func newEventCache(limit int64) *eventCache {
	return &eventCache{cur: map[uint64]*cacheEntry{}, limit: limit}
}

// get returns what is derived from the event at seq, building it on first use.
func (c *eventCache) get(seq uint64, build func() *prepared) *prepared {
	c.mu.RLock()
	e, ok := c.cur[seq]
	c.mu.RUnlock()
	if !ok {
		c.mu.Lock()
		if e, ok = c.cur[seq]; !ok {
			if e, ok = c.old[seq]; !ok {
				e = &cacheEntry{}
			}
			c.put(seq, e)
		}
		c.mu.Unlock()
	}
	e.once.Do(func() {
		p := build()
		p.grow = func(n int64) { e.grow(c, n) }
		e.grow(c, p.size())
		e.p = p
	})
	return e.p
}

// put stores e under seq in the newer generation; c.mu is held.
func (c *eventCache) put(seq uint64, e *cacheEntry) {
	if c.size.Load() >= c.limit/2 {
		c.old, c.cur = c.cur, map[uint64]*cacheEntry{}
		c.size.Store(0)
	}
	c.cur[seq] = e
	c.size.Add(e.size.Load() + entryOverhead)
}

// entryOverhead is what an entry and its map slot cost besides its bytes.
const entryOverhead = 128

// grow counts n more bytes held by e (an encoding added to it).
func (e *cacheEntry) grow(c *eventCache, n int64) {
	e.size.Add(n)
	c.size.Add(n)
}
