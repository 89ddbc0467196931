package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/lease"
)

// A Remover is a Kind whose connectors leave something on the nodes that
// outlives their Run: the Hue kind's mirrored bridge, which every node
// serves until it is ended.
type Remover interface {
	// Removed undoes what the connector name left, once its definition is
	// deleted (or replaced by one of another kind). It is called when no
	// run of the connector can overlap it: on the node that ran it, after
	// Run returned and before the lease is given back; and, for a
	// connector whose node died first, on a node that finds the lease free
	// or unrenewed for a TTL. It may be called again after a crash in the
	// middle, so it must be idempotent.
	Removed(ctx context.Context, name string) error
	// Leftovers names the connectors of this kind whose traces this node
	// sees now; those without a definition are Removed.
	Leftovers() []string
}

// A Single kind runs one connector per herald (the Hue kind: herald is one
// bridge); a second definition of the kind is refused.
type Single interface {
	Single()
}

// removeTimeout bounds one call of Removed.
const removeTimeout = time.Minute

// errSecond refuses a second connector of a Single kind.
var errSecond = dialect.Sentinel(dialect.Conflict, "one connector of this kind per herald")

// single refuses spec if its kind is Single and another connector of the
// kind is defined. Two definitions posted at the same instant on two nodes
// may both pass; the kind refuses to run the second (Hue: the mirror record
// names the first).
func (s *Service) single(ctx context.Context, spec Spec) error {
	if _, ok := s.kinds[spec.Kind].(Single); !ok {
		return nil
	}
	specs, err := s.st.specs(ctx)
	if err != nil {
		return err
	}
	for _, o := range specs {
		if o.Kind == spec.Kind && o.Name != spec.Name {
			return fmt.Errorf("%w: connector %q is the %s connector; remove it first (DELETE /v1/connectors/%s)",
				errSecond, o.Name, spec.Kind, o.Name)
		}
	}
	return nil
}

// gone says whether the connector name of kind has no definition of that
// kind any more. A failed read answers false: a connector is never undone
// on a guess.
func (s *Service) gone(ctx context.Context, name, kind string) bool {
	spec, _, err := s.st.spec(ctx, name)
	switch {
	case errors.Is(err, ErrNotFound):
		return true
	case err != nil:
		s.log.Warn("connector definition unreadable; not removing its traces", "connector", name, "err", err)
		return false
	}
	return spec.Kind != kind
}

// afterRun calls Removed when the job of spec ended because its definition
// went: the job still holds the lease, so no other run overlaps.
func (s *Service) afterRun(spec Spec, kind Kind, log *slog.Logger) {
	r, ok := kind.(Remover)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
	defer cancel()
	if !s.gone(ctx, spec.Name, spec.Kind) {
		return
	}
	if err := r.Removed(ctx, spec.Name); err != nil {
		log.Error("connector removed; undoing what it left failed", "err", err)
		return
	}
	log.Info("connector removed")
}

// sweep starts removing the leftovers of connectors that have no
// definition of their kind in specs (by name), each once at a time. It
// runs on the observe goroutine.
func (s *Service) sweep(ctx context.Context, specs map[string]Spec) {
	for kname, k := range s.kinds {
		r, ok := k.(Remover)
		if !ok {
			continue
		}
		for _, name := range r.Leftovers() {
			if sp, ok := specs[name]; ok && sp.Kind == kname {
				continue
			}
			s.mu.Lock()
			busy := s.sweeping[name]
			if !busy {
				s.sweeping[name] = true
			}
			s.mu.Unlock()
			if busy {
				continue
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() { s.mu.Lock(); delete(s.sweeping, name); s.mu.Unlock() }()
				s.removeLeftover(ctx, name, kname, r)
			}()
		}
	}
}

// removeLeftover calls Removed for a connector whose definition is gone
// once no node can be running it: its lease is free, or held by an earlier
// life of this node, or not renewed for a TTL (its holder died). A job of
// it on this node calls Removed itself when it ends (afterRun).
func (s *Service) removeLeftover(ctx context.Context, name, kind string, r Remover) {
	log := s.log.With("connector", name, "kind", kind)
	var seen lease.Holding
	for {
		if !s.gone(ctx, name, kind) {
			return // defined again
		}
		s.mu.Lock()
		running := s.running[name]
		s.mu.Unlock()
		if running {
			return
		}
		h, err := s.core.Leases.Holder(ctx, defPrefix+name)
		switch {
		case errors.Is(err, lease.ErrNotHeld), err == nil && h.Holder == s.core.Node,
			err == nil && seen.Revision == h.Revision && seen.Holder == h.Holder:
			rctx, cancel := context.WithTimeout(ctx, removeTimeout)
			err := r.Removed(rctx, name)
			cancel()
			if err != nil {
				log.Error("undoing what a removed connector left failed", "err", err)
				return
			}
			log.Info("what a removed connector left is undone")
			return
		case err != nil:
			log.Warn("connector lease unreadable", "err", err)
		default:
			seen = h
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.core.Leases.TTL()):
		}
	}
}
