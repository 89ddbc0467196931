package zulip

import "sync"

// renderCache keeps what delivery derives from a stored message, by log
// position, so that every queue that receives the message shares one
// rendering: a message is rendered and sanitized once per process, not once
// per queue. (The hub caches each event's encodings for streams, but cursor
// polls hand out copies of the log's events, which carry no cache.)
//
// It holds about limit bytes of HTML in two generations: when the newer is
// full it becomes the older and the older is dropped. Queues read the log in
// order, so what they ask for is recent. Safe for concurrent use; a
// rendering is built outside the lock, and of two built at once the first
// stored is kept.
type renderCache struct {
	mu       sync.Mutex
	cur, old map[uint64]*renderedMessage
	bytes    int // held by cur
	limit    int
}

// renderedMessage is what delivery derives from a stored message.
type renderedMessage struct {
	html     string // the message's HTML, rendered from its Markdown and sanitized
	mentions mentions
}

// renderCacheBytes bounds the HTML the cache holds.
const renderCacheBytes = 8 << 20

func newRenderCache(limit int) *renderCache {
	return &renderCache{cur: map[uint64]*renderedMessage{}, limit: limit}
}

// get returns the rendering of the message at seq, building it on first use.
func (c *renderCache) get(seq uint64, build func() *renderedMessage) *renderedMessage {
	c.mu.Lock()
	r, ok := c.cur[seq]
	if !ok {
		if r, ok = c.old[seq]; ok {
			c.put(seq, r)
		}
	}
	c.mu.Unlock()
	if ok {
		return r
	}
	r = build()
	c.mu.Lock()
	defer c.mu.Unlock()
	if kept, ok := c.cur[seq]; ok {
		return kept
	}
	c.put(seq, r)
	return r
}

// put stores r under seq; c.mu is held.
func (c *renderCache) put(seq uint64, r *renderedMessage) {
	const overhead = 64 // the entry and its map slot
	if c.bytes >= c.limit/2 {
		c.old, c.cur, c.bytes = c.cur, map[uint64]*renderedMessage{}, 0
	}
	c.cur[seq] = r
	c.bytes += len(r.html) + overhead
}
