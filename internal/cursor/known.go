package cursor

import "sync"

// known remembers followed cursors as this store last read or stored them,
// so that a poll need not read its cursor before it starts: a followed
// cursor changes only in its idle clock (which only moves forward) and by
// its deletion, and Follow reads it once before it answers, which catches
// both. It holds about limit cursors in two generations: when the newer is
// full it becomes the older and the older is dropped.
type known struct {
	mu       sync.Mutex
	cur, old map[string]State
	limit    int
}

// knownCursors bounds the cursors a store remembers.
const knownCursors = 1 << 16

func (k *known) get(id string) (State, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	st, ok := k.cur[id]
	if !ok {
		if st, ok = k.old[id]; ok {
			k.putLocked(st)
		}
	}
	return st.clone(), ok
}

func (k *known) put(st State) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.putLocked(st.clone())
}

func (k *known) putLocked(st State) {
	if k.cur == nil || len(k.cur) >= k.limit/2 {
		k.old, k.cur = k.cur, map[string]State{}
	}
	k.cur[st.ID] = st
}

func (k *known) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.cur, id)
	delete(k.old, id)
}

// Known returns the followed cursor id as this store last read or stored
// it in a Follow, without a round trip, if it still remembers it and it
// has not idled out as remembered. Its idle clock may be older than the
// engine's, and it may have been deleted since on another node: Follow
// finds out before it answers.
func (s *Store) Known(id string) (State, bool) {
	st, ok := s.known.get(id)
	if !ok || s.expired(&st) {
		return State{}, false
	}
	return st, true
}
