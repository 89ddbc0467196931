package eventlog

import (
	"strings"
	"sync"
	"sync/atomic"
)

// KnownRevision returns what Revision(prefix) would, without asking the
// engine, and true, where this handle knows it: the bucket has no writer
// but this handle (an embedded engine without a client port, see
// Log.Acked), and a Watch of prefix has started on it. It is then the
// revision of the last write under prefix this handle had acknowledged
// (0 if none since that Watch began): a watcher of prefix whose initial
// values are done, and that has seen it, has seen every write to prefix
// acknowledged before the call. Elsewhere it returns false, and only
// Revision knows.
func (k *natsKV) KnownRevision(prefix string) (uint64, bool) {
	if !k.sole {
		return 0, false
	}
	return k.marks.known(prefix)
}

// revisionMarks are the revisions of a sole writer's last writes under the
// prefixes it watches (KnownRevision). A prefix is marked before its
// first Watch subscribes, so a write is either counted or made before the
// Watch began (its initial values then hold it).
//
// Ownership: the list is replaced whole under mu (watch) and read without
// a lock; each mark's revision only rises (wrote).
type revisionMarks struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*revisionMark]
}

type revisionMark struct {
	prefix string
	rev    atomic.Uint64
}

// watch marks prefix, once.
func (m *revisionMarks) watch(prefix string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []*revisionMark
	if l := m.list.Load(); l != nil {
		for _, mk := range *l {
			if mk.prefix == prefix {
				return
			}
		}
		list = append(list, *l...)
	}
	list = append(list, &revisionMark{prefix: prefix})
	m.list.Store(&list)
}

// wrote records an acknowledged write of key at rev.
func (m *revisionMarks) wrote(key string, rev uint64) {
	l := m.list.Load()
	if l == nil {
		return
	}
	for _, mk := range *l {
		if !strings.HasPrefix(key, mk.prefix) {
			continue
		}
		for {
			cur := mk.rev.Load()
			if rev <= cur || mk.rev.CompareAndSwap(cur, rev) {
				break
			}
		}
	}
}

// known returns the mark of prefix; false if it is not watched.
func (m *revisionMarks) known(prefix string) (uint64, bool) {
	if l := m.list.Load(); l != nil {
		for _, mk := range *l {
			if mk.prefix == prefix {
				return mk.rev.Load(), true
			}
		}
	}
	return 0, false
}
