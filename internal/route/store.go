package route

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/lease"
	"github.com/herald-io/herald/internal/topic"
)

// Sentinel errors callers branch on (the API maps them to 404 and 409).
var (
	ErrNotFound = dialect.Sentinel(dialect.NotFound, "no such route")
	ErrExists   = dialect.Sentinel(dialect.Conflict, "a route of that name exists")
)

// Status is a route with its progress, as the API shows it.
type Status struct {
	Spec
	State State  `json:"state"`
	Node  string `json:"node,omitempty"` // the node running it, if any
}

// Add stores a new route after checking it: its topics, its expressions
// (compiled), the key it acts as. A route starts after the newest event
// ("now", the default), from the earliest retained or after a sequence.
func (r *Runner) Add(ctx context.Context, spec Spec) (Status, error) {
	if err := r.validate(ctx, &spec); err != nil {
		return Status{}, err
	}
	var from dialect.From
	switch after, _ := spec.startAfter(); {
	case strings.EqualFold(spec.Start, "earliest"):
		from = dialect.FromEarliest()
	case after > 0:
		from = dialect.FromAfter(after)
	default:
		from = dialect.FromNow()
	}
	pos, err := r.core.Start(ctx, from)
	if err != nil {
		return Status{}, err
	}
	rec := stored{Spec: spec, From: pos, Incarnation: rand.Text()}
	def, _ := json.Marshal(rec)
	if _, err := r.kv.Create(ctx, "route."+spec.Name, def); errors.Is(err, eventlog.ErrConflict) {
		return Status{}, ErrExists
	} else if err != nil {
		return Status{}, err
	}
	return Status{Spec: spec, State: State{Position: pos}}, nil
}

// stored is a route's definition in the bucket: the spec, where it starts
// and which incarnation of its name it is, so that progress left by a
// removed route of the same name is never taken for its own.
type stored struct {
	Spec
	From        uint64 `json:"from"`
	Incarnation string `json:"incarnation"`
}

func (r *Runner) validate(ctx context.Context, spec *Spec) error {
	if err := spec.check(); err != nil {
		return badRequest(err)
	}
	if _, err := compile(r.env, spec.When, spec.Action.Params); err != nil {
		return badRequest(err)
	}
	if spec.Action.As != "" {
		if _, err := r.actingKey(ctx, spec.Action); err != nil {
			return badRequest(err)
		}
	}
	return nil
}

// Get returns one route with its progress.
func (r *Runner) Get(ctx context.Context, name string) (Status, error) {
	ent, err := r.kv.Get(ctx, "route."+name)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return Status{}, ErrNotFound
	}
	if err != nil {
		return Status{}, err
	}
	return r.status(ctx, ent)
}

// List returns every route with its progress, by name.
func (r *Runner) List(ctx context.Context) ([]Status, error) {
	ents, err := r.kv.List(ctx, "route.")
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(ents))
	for _, e := range ents {
		s, err := r.status(ctx, e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (r *Runner) status(ctx context.Context, ent eventlog.Entry) (Status, error) {
	var rec stored
	if err := json.Unmarshal(ent.Value, &rec); err != nil {
		return Status{}, fmt.Errorf("route %s: %w", ent.Key, err)
	}
	s := Status{Spec: rec.Spec}
	st, err := r.state(ctx, rec)
	if err != nil {
		return Status{}, err
	}
	s.State = st
	if h, err := r.core.Leases.Holder(ctx, "route."+s.Name); err == nil {
		s.Node = h.Holder
	} else if !errors.Is(err, lease.ErrNotHeld) {
		return Status{}, err
	}
	return s, nil
}

// Remove deletes a route and its progress.
func (r *Runner) Remove(ctx context.Context, name string) error {
	if _, err := r.kv.Get(ctx, "route."+name); errors.Is(err, eventlog.ErrKeyNotFound) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	if err := r.kv.Delete(ctx, "route."+name, 0); err != nil {
		return err
	}
	return r.kv.Delete(ctx, "state."+name, 0)
}

// TestResult is what a route would do with one stored event.
type TestResult struct {
	Event   *eventlog.Event `json:"event"`
	Matched bool            `json:"matched"`
	Plan    *Plan           `json:"plan,omitempty"`
	Error   string          `json:"error,omitempty"` // the expression or params failed on this event
}

// Test shows what spec would do with the stored event seq, without doing
// it. A spec that does not check is an error; an expression that fails on
// this event is reported in the result.
func (r *Runner) Test(ctx context.Context, spec Spec, seq uint64) (TestResult, error) {
	if err := r.validate(ctx, &spec); err != nil {
		return TestResult{}, err
	}
	progs, _ := compile(r.env, spec.When, spec.Action.Params)
	var ev *eventlog.Event
	scan := r.core.Scan(seq-1, topic.Filter{">"}, dialect.Through(seq))
	for e := range scan.Events(ctx) {
		if e.Seq == seq {
			ev = e
		}
	}
	if err := scan.Err(); err != nil {
		return TestResult{}, err
	}
	if ev == nil || seq == 0 {
		return TestResult{}, dialect.Errorf(dialect.NotFound, "no stored event %d", seq)
	}
	res := TestResult{Event: ev}
	filter, _ := topic.NewFilter(spec.Topics)
	if !filter.Match(ev.Topic) {
		res.Error = fmt.Sprintf("event %d's topic %s is not in the route's topics", seq, ev.Topic)
		return res, nil
	}
	p, matched, err := r.plan(ctx, &spec, progs, ev)
	res.Matched = matched
	if err != nil {
		res.Error = err.Error()
	} else if matched {
		res.Plan = &p
	}
	return res, nil
}

// state reads a route's progress: before any is stored (or when what is
// stored is an earlier route's of that name), it is at the route's start.
func (r *Runner) state(ctx context.Context, rec stored) (State, error) {
	fresh := State{Position: rec.From, Incarnation: rec.Incarnation}
	ent, err := r.kv.Get(ctx, "state."+rec.Name)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return fresh, nil
	}
	if err != nil {
		return State{}, err
	}
	var st State
	if err := json.Unmarshal(ent.Value, &st); err != nil {
		return State{}, fmt.Errorf("route %s state: %w", rec.Name, err)
	}
	if st.Incarnation != rec.Incarnation {
		return fresh, nil
	}
	return st, nil
}

func (r *Runner) putState(ctx context.Context, name string, st *State) error {
	st.Updated = time.Now().UTC()
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = r.kv.Put(ctx, "state."+name, raw)
	return err
}

// badRequest is err as the client's mistake, its whole text shown.
func badRequest(err error) error {
	return &dialect.Problem{Kind: dialect.BadRequest, Code: dialect.BadRequest.String(), Message: err.Error(), Err: err}
}

// Replace stores a new spec for an existing route, keeping its progress:
// the route goes on from where it was (a route stuck on an event tries it
// again with the new spec). Its start is not changed.
func (r *Runner) Replace(ctx context.Context, spec Spec) (Status, error) {
	if err := r.validate(ctx, &spec); err != nil {
		return Status{}, err
	}
	ent, err := r.kv.Get(ctx, "route."+spec.Name)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return Status{}, ErrNotFound
	}
	if err != nil {
		return Status{}, err
	}
	var rec stored
	if err := json.Unmarshal(ent.Value, &rec); err != nil {
		return Status{}, fmt.Errorf("route %s: %w", spec.Name, err)
	}
	rec.Spec = spec
	def, _ := json.Marshal(rec)
	rev, err := r.kv.Update(ctx, ent.Key, def, ent.Revision)
	if errors.Is(err, eventlog.ErrConflict) {
		return Status{}, dialect.Errorf(dialect.Conflict, "route %s changed meanwhile: read it and try again", spec.Name)
	}
	if err != nil {
		return Status{}, err
	}
	return r.status(ctx, eventlog.Entry{Key: ent.Key, Value: def, Revision: rev})
}

// ParseSpec reads a route from JSON, refusing unknown fields (a misspelt
// "when" would otherwise match every event).
func ParseSpec(body []byte) (Spec, error) {
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, badRequest(fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "json: ")))
	}
	if dec.More() {
		return Spec{}, badRequest(fmt.Errorf("%w: one JSON object, nothing after it", ErrInvalid))
	}
	return s, nil
}
