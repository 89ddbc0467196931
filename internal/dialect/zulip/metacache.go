package zulip

import (
	"encoding/json"
	"sync"
)

// metaCache keeps queue metas decoded, by their stored JSON, so that a
// poll does not decode its queue's meta again: a queue's meta never
// changes, and a decoded meta is only read. Queues with the same meta
// share one. It holds about limit metas in two generations: when the
// newer is full it becomes the older and the older is dropped.
type metaCache struct {
	mu       sync.RWMutex
	cur, old map[string]*queueMeta
	limit    int
}

// metaCacheEntries bounds the metas a process keeps decoded (a few hundred
// bytes each); past it, the queues polled least recently decode theirs
// again.
const metaCacheEntries = 1 << 14

func newMetaCache(limit int) *metaCache {
	return &metaCache{cur: map[string]*queueMeta{}, limit: limit}
}

// decode returns the queue meta stored as raw, decoding it on first use.
func (c *metaCache) decode(raw []byte) (*queueMeta, error) {
	c.mu.RLock()
	m, ok := c.cur[string(raw)]
	c.mu.RUnlock()
	if ok {
		return m, nil
	}
	c.mu.Lock()
	m, ok = c.old[string(raw)]
	if ok {
		c.putLocked(string(raw), m)
	}
	c.mu.Unlock()
	if ok {
		return m, nil
	}
	m = &queueMeta{}
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.putLocked(string(raw), m)
	c.mu.Unlock()
	return m, nil
}

func (c *metaCache) putLocked(raw string, m *queueMeta) {
	if len(c.cur) >= c.limit/2 {
		c.old, c.cur = c.cur, map[string]*queueMeta{}
	}
	c.cur[raw] = m
}
