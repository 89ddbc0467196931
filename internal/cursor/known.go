package cursor

import (
	"context"
	"sync"
)

// known remembers followed cursors as this store last read, stored or
// watched them, so that a poll need not read its cursor before it starts:
// a followed cursor changes only in its idle clock (which only moves
// forward) and by its deletion, and Follow checks it before it answers,
// which catches both. It holds about limit cursors in two generations:
// when the newer is full it becomes the older and the older is dropped.
//
// A cursor's deletion, once a watch of its prefix reports it, is kept as
// a tombstone at the deletion's revision, so that a read made before the
// deletion and remembered after it (put) cannot bring the cursor back. An
// entry records the epoch of the watch (see view) that was live when the
// read that gave it was sent: only then has every later write to the
// cursor reached the entry, and Follow may trust it without a read.
//
// An entry's state is never changed in place (a newer one replaces it), so
// the states handed out share its Filter and Meta, which their users only
// read: a poll costs no copy of them.
type known struct {
	mu       sync.RWMutex
	cur, old map[string]knownEntry
	limit    int
}

type knownEntry struct {
	st    State  // a tombstone holds only ID and rev
	gone  bool   // a tombstone
	epoch uint64 // the watch's epoch when st was read; 0: none was live
}

// knownCursors bounds the cursors a store remembers.
const knownCursors = 1 << 16

// lookup returns the entry of id; ok is false if there is none.
func (k *known) lookup(id string) (knownEntry, bool) {
	k.mu.RLock()
	e, ok := k.cur[id]
	k.mu.RUnlock()
	if ok {
		return e, true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok = k.cur[id]; !ok {
		if e, ok = k.old[id]; ok {
			k.setLocked(e)
		}
	}
	return e, ok
}

// get returns the live cursor id.
func (k *known) get(id string) (State, bool) {
	e, ok := k.lookup(id)
	if !ok || e.gone {
		return State{}, false
	}
	return e.st, true
}

// put remembers st, read or stored while the watch's epoch was epoch,
// unless what is remembered is as new (a tombstone included).
func (k *known) put(st State, epoch uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.entryLocked(st.ID)
	switch {
	case !ok || e.st.rev < st.rev:
		k.setLocked(knownEntry{st: st.clone(), epoch: epoch})
	case e.st.rev == st.rev && !e.gone && epoch > e.epoch:
		e.epoch = epoch
		k.setLocked(e)
	}
}

// refresh replaces the entry of st's cursor with st if there is one and
// st is newer: remember for a state that is the entry's from then on (a
// poll's stored state, which nobody changes in place), without the copy
// put makes, and under one lock.
func (k *known) refresh(st State) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.entryLocked(st.ID); ok && e.st.rev < st.rev {
		k.setLocked(knownEntry{st: st, epoch: e.epoch})
	}
}

// watched applies a write the watch of epoch reported: a deletion (st
// nil) becomes a tombstone; a newer state replaces one remembered (a
// tombstone too: the cursor was made again), keeping its epoch, so that an
// entry older than the watch stays untrusted. A cursor not remembered is
// not served here: a poll reads it first.
func (k *known) watched(id string, rev uint64, st func() (State, error), epoch uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.entryLocked(id)
	if ok && e.st.rev >= rev {
		return
	}
	if st == nil {
		k.setLocked(knownEntry{st: State{ID: id, rev: rev}, gone: true, epoch: epoch})
		return
	}
	if !ok {
		return
	}
	next, err := st()
	if err != nil {
		k.deleteLocked(id) // unreadable: read it again when polled
		return
	}
	k.setLocked(knownEntry{st: next, epoch: e.epoch})
}

func (k *known) entryLocked(id string) (knownEntry, bool) {
	if e, ok := k.cur[id]; ok {
		return e, true
	}
	e, ok := k.old[id]
	return e, ok
}

func (k *known) setLocked(e knownEntry) {
	if k.cur == nil || len(k.cur) >= k.limit/2 {
		k.old, k.cur = k.cur, map[string]knownEntry{}
	}
	delete(k.old, e.st.ID)
	k.cur[e.st.ID] = e
}

func (k *known) deleteLocked(id string) {
	delete(k.cur, id)
	delete(k.old, id)
}

// forget drops the live cursor id; a tombstone stays.
func (k *known) forget(id string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.entryLocked(id); ok && !e.gone {
		k.deleteLocked(id)
	}
}

// Known returns the followed cursor id as this store last read or stored
// it in a Follow, without a round trip, if it still remembers it and it
// has not idled out as remembered. Its idle clock may be older than the
// engine's, and it may have been deleted since on another node: Follow
// finds out before it answers. Its Filter and Meta are the store's: read
// them only (so are those of GetFollowed's and Follow's states).
func (s *Store) Known(id string) (State, bool) {
	st, ok := s.known.get(id)
	if !ok || s.expired(&st) {
		return State{}, false
	}
	return st, true
}

// GetFollowed returns the followed cursor id as Known does, else reads it
// as Get does and remembers it: the start of a poll.
func (s *Store) GetFollowed(ctx context.Context, id string) (State, error) {
	if st, ok := s.Known(id); ok {
		return st, nil
	}
	return s.read(ctx, id)
}

// read reads the followed cursor id and remembers it with the epoch of
// the watch that was live when the read was sent.
func (s *Store) read(ctx context.Context, id string) (State, error) {
	epoch := s.views.epoch(id)
	st, err := s.Get(ctx, id)
	if err != nil {
		return State{}, err
	}
	s.known.put(st, epoch)
	return st, nil
}
