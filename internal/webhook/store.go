package webhook

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
)

// View is an endpoint with its state, as GET shows it.
type View struct {
	Endpoint
	Status Status `json:"status"`
}

// Created is the answer to a creation or a rotation: the only time the
// secret is shown.
type Created struct {
	View
	Secret string `json:"secret,omitempty"`
}

// ErrReadScope is a key whose read scope does not cover an endpoint's
// topics.
var ErrReadScope = dialect.Sentinel(dialect.Forbidden, "this key may not read every topic of the webhook")

// mayRead checks that k may have an endpoint on filter.
func mayRead(k *auth.Key, e *Endpoint) error {
	if !k.CanSubscribe(e.Filter()) {
		return ErrReadScope
	}
	return nil
}

// owns reports whether k may see and change e: its maker, or an admin.
func owns(k *auth.Key, e *Endpoint) bool {
	return k.Admin || k.ID == e.Owner
}

func newID() string { return "wh_" + strings.ToLower(rand.Text()[:16]) }

// Create stores a new endpoint made by k, and its state: it delivers the
// events after spec.After, or from now.
func (s *Service) Create(ctx context.Context, k *auth.Key, spec Spec) (Created, error) {
	now := s.cfg.Now().UTC()
	r := record{Endpoint: Endpoint{ID: newID(), Owner: k.ID, Created: now, Updated: now, Epoch: 1}}
	if spec.Rotate || spec.Grace != "" {
		return Created{}, fieldErr("rotate", "only when changing a webhook")
	}
	sec, err := spec.apply(&r, &s.cfg.Policy, now)
	if err != nil {
		return Created{}, err
	}
	if err := mayRead(k, &r.Endpoint); err != nil {
		return Created{}, err
	}
	from := dialect.FromNow()
	if spec.After != nil {
		from = dialect.FromSeq(*spec.After + 1)
	}
	pos, err := s.core.Start(ctx, from)
	if err != nil {
		return Created{}, err
	}
	st := State{Epoch: r.Epoch, Position: pos}
	// The state first: a job finds it when it starts, and never makes one
	// (a job that finds none belongs to a deleted endpoint).
	if err := s.create(ctx, statePrefix+r.ID, &st); err != nil {
		return Created{}, err
	}
	if err := s.create(ctx, endpointPrefix+r.ID, &r); err != nil {
		_ = s.kv.Delete(context.WithoutCancel(ctx), statePrefix+r.ID, 0)
		return Created{}, err
	}
	return Created{View: View{Endpoint: r.Endpoint, Status: st.status()}, Secret: sec}, nil
}

func (s *Service) create(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = s.kv.Create(ctx, key, b)
	return err
}

// load reads an endpoint k may see.
func (s *Service) load(ctx context.Context, k *auth.Key, id string) (record, uint64, error) {
	if !validID(id) {
		return record{}, 0, fmt.Errorf("%w %s", ErrNotFound, id)
	}
	ent, err := s.kv.Get(ctx, endpointPrefix+id)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return record{}, 0, fmt.Errorf("%w %s", ErrNotFound, id)
	}
	if err != nil {
		return record{}, 0, err
	}
	var r record
	if err := json.Unmarshal(ent.Value, &r); err != nil {
		return record{}, 0, fmt.Errorf("webhook %s: %w", id, err)
	}
	if !owns(k, &r.Endpoint) {
		return record{}, 0, fmt.Errorf("%w %s", ErrNotFound, id) // another key's is none of its business
	}
	return r, ent.Revision, nil
}

func validID(id string) bool {
	if len(id) != 19 || !strings.HasPrefix(id, "wh_") {
		return false
	}
	for _, c := range id[3:] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// State returns an endpoint's state (its attempts included).
func (s *Service) State(ctx context.Context, k *auth.Key, id string) (State, error) {
	if _, _, err := s.load(ctx, k, id); err != nil {
		return State{}, err
	}
	return s.state(ctx, id)
}

func (s *Service) state(ctx context.Context, id string) (State, error) {
	ent, err := s.kv.Get(ctx, statePrefix+id)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return State{}, fmt.Errorf("%w %s", ErrNotFound, id)
	}
	if err != nil {
		return State{}, err
	}
	var st State
	if err := json.Unmarshal(ent.Value, &st); err != nil {
		return State{}, fmt.Errorf("webhook %s: state: %w", id, err)
	}
	return st, nil
}

// Get returns an endpoint k may see, with its state.
func (s *Service) Get(ctx context.Context, k *auth.Key, id string) (View, error) {
	r, _, err := s.load(ctx, k, id)
	if err != nil {
		return View{}, err
	}
	st, err := s.state(ctx, id)
	if err != nil {
		return View{}, err
	}
	return View{Endpoint: r.Endpoint, Status: st.status()}, nil
}

// List returns the endpoints k may see, oldest first.
func (s *Service) List(ctx context.Context, k *auth.Key) ([]View, error) {
	ents, err := s.kv.List(ctx, endpointPrefix)
	if err != nil {
		return nil, err
	}
	states, err := s.kv.List(ctx, statePrefix)
	if err != nil {
		return nil, err
	}
	byID := map[string]State{}
	for _, e := range states {
		var st State
		if json.Unmarshal(e.Value, &st) == nil {
			byID[strings.TrimPrefix(e.Key, statePrefix)] = st
		}
	}
	out := []View{}
	for _, e := range ents {
		var r record
		if json.Unmarshal(e.Value, &r) != nil || !owns(k, &r.Endpoint) {
			continue
		}
		st := byID[r.ID]
		out = append(out, View{Endpoint: r.Endpoint, Status: st.status()})
	}
	slices.SortFunc(out, func(a, b View) int { return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID)) })
	return out, nil
}

// Update changes an endpoint: the fields spec sets, a rotated secret. It
// starts a new epoch, so a failing endpoint delivers again from where it
// stopped.
func (s *Service) Update(ctx context.Context, k *auth.Key, id string, spec Spec) (Created, error) {
	if spec.After != nil {
		return Created{}, fieldErr("after", "only when creating a webhook; use replay")
	}
	r, rev, err := s.load(ctx, k, id)
	if err != nil {
		return Created{}, err
	}
	now := s.cfg.Now().UTC()
	sec, err := spec.apply(&r, &s.cfg.Policy, now)
	if err != nil {
		return Created{}, err
	}
	if err := mayRead(k, &r.Endpoint); err != nil {
		return Created{}, err
	}
	r.Updated, r.Epoch, r.Start = now, r.Epoch+1, nil
	if err := s.put(ctx, &r, rev); err != nil {
		return Created{}, err
	}
	st, err := s.state(ctx, id)
	if err != nil {
		return Created{}, err
	}
	return Created{View: View{Endpoint: r.Endpoint, Status: st.status()}, Secret: sec}, nil
}

func (s *Service) put(ctx context.Context, r *record, rev uint64) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.kv.Update(ctx, endpointPrefix+r.ID, b, rev)
	return err
}

// Replay delivers again every event after position after (that is still
// retained: an older one is the explicit gone error), from a new epoch.
func (s *Service) Replay(ctx context.Context, k *auth.Key, id string, after uint64) (View, error) {
	r, rev, err := s.load(ctx, k, id)
	if err != nil {
		return View{}, err
	}
	pos, err := s.core.Start(ctx, dialect.FromSeq(after+1))
	if err != nil {
		return View{}, err
	}
	r.Updated, r.Epoch, r.Start = s.cfg.Now().UTC(), r.Epoch+1, &pos
	if err := s.put(ctx, &r, rev); err != nil {
		return View{}, err
	}
	st, err := s.state(ctx, id)
	if err != nil {
		return View{}, err
	}
	return View{Endpoint: r.Endpoint, Status: st.status()}, nil
}

// Delete removes an endpoint and its state. Its events stay in the log.
func (s *Service) Delete(ctx context.Context, k *auth.Key, id string) error {
	_, rev, err := s.load(ctx, k, id)
	if err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, endpointPrefix+id, rev); err != nil {
		return err
	}
	// Its job stops when Supervise sees the deletion; one that stores its
	// state meanwhile finds none (compare-and-set) and stores nothing.
	return s.kv.Delete(ctx, statePrefix+id, 0)
}
