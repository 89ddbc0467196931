package route

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/ctxtime"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// Bucket is the KV bucket of routes: definitions under "route.<name>",
// each one's progress under "state.<name>" (written only by the node
// running it, so a change of progress never restarts the route).
const Bucket = "herald-routes"

// Config configures a Runner; zero values are defaults.
type Config struct {
	// Retry is the pause before each further attempt at an event whose
	// action failed; the last is repeated. Default: 1 s doubling to 5 min.
	Retry []time.Duration
	// SaveEvery bounds how long progress over events a route skips is
	// kept unsaved (an action's is saved at once). Default 2 s.
	SaveEvery time.Duration
}

// Runner stores routes and runs them.
type Runner struct {
	core  *dialect.Core
	api   http.Handler // herald's own API, which actions call in process
	kv    eventlog.KV
	env   *cel.Env
	log   *slog.Logger
	retry []time.Duration
	save  time.Duration
}

// New returns a Runner storing routes in kv, whose actions call api.
func New(core *dialect.Core, kv eventlog.KV, api http.Handler, cfg Config) (*Runner, error) {
	env, err := newEnv()
	if err != nil {
		return nil, err
	}
	if len(cfg.Retry) == 0 {
		for d := time.Second; d < 5*time.Minute; d *= 2 {
			cfg.Retry = append(cfg.Retry, d)
		}
		cfg.Retry = append(cfg.Retry, 5*time.Minute)
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = 2 * time.Second
	}
	return &Runner{core: core, api: api, kv: kv, env: env, log: core.Logger.With("component", "routes"),
		retry: cfg.Retry, save: cfg.SaveEvery}, nil
}

// Run runs every stored route whose lease this node holds, until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	return r.core.Leases.Supervise(ctx, r.kv, "route.", "route.", r.job)
}

// State is a route's progress.
type State struct {
	// Position is the last source sequence handled: every event of the
	// route's topics up to it was acted on or did not match.
	Position uint64 `json:"position"`
	Done     uint64 `json:"done"`    // actions carried out
	Skipped  uint64 `json:"skipped"` // events whose condition was false
	// Failing is set while an event's action fails; the route stays on
	// that event (Stuck) and tries it again.
	Failing   bool      `json:"failing"`
	Stuck     uint64    `json:"stuck_at,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	ErrorAt   time.Time `json:"last_error_at,omitzero"`
	Updated   time.Time `json:"updated,omitzero"`
	// Incarnation is the route definition's this progress belongs to.
	Incarnation string `json:"incarnation,omitempty"`
}

// job runs one route until ctx ends (its lease lost, its definition
// changed or deleted, the node stopping).
func (r *Runner) job(ctx context.Context, def eventlog.Entry) {
	var rec stored
	if err := json.Unmarshal(def.Value, &rec); err != nil {
		r.log.Error("route definition unreadable", "key", def.Key, "err", err)
		<-ctx.Done()
		return
	}
	spec := rec.Spec
	log := r.log.With("route", spec.Name)
	st, err := r.state(ctx, rec)
	if err != nil {
		log.Warn("route state", "err", err)
		return // started again by the lease's job loop
	}
	progs, err := compile(r.env, spec.When, spec.Action.Params)
	if err == nil {
		err = spec.check()
	}
	if err != nil { // stored by a version that checked less: say so, do nothing
		r.fail(ctx, spec.Name, &st, st.Position+1, err)
		<-ctx.Done()
		return
	}
	filter, _ := topic.NewFilter(spec.Topics)
	sub := r.core.Hub.Subscribe(st.Position, filter)
	defer sub.Close()
	saved := time.Now()
	dirty := false
	save := func() {
		if err := r.putState(ctx, spec.Name, &st); err != nil && ctx.Err() == nil {
			log.Warn("route state not saved", "err", err)
			return
		}
		saved, dirty = time.Now(), false
	}
	defer func() {
		if dirty {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = r.putState(ctx, spec.Name, &st)
		}
	}()
	for {
		evs, err := sub.NextWithin(ctx, 64, r.save)
		var expired *eventlog.ExpiredError
		switch {
		case ctx.Err() != nil:
			return
		case errors.As(err, &expired):
			// Never a skip: the operator decides (a new start, or remove it).
			r.fail(ctx, spec.Name, &st, st.Position+1, fmt.Errorf("events after %d are no longer stored (earliest is %d): set the route's start again", expired.After, expired.Earliest))
			<-ctx.Done()
			return
		case err != nil:
			log.Warn("route read", "err", err)
			if ctxtime.Sleep(ctx, time.Second) != nil {
				return
			}
			continue
		}
		for _, ev := range evs {
			acted, ok := r.handle(ctx, &spec, progs, &st, &ev.Event)
			if !ok {
				return
			}
			st.Position = ev.Seq
			r.core.Metrics.RoutePosition.WithLabelValues(spec.Name).Set(float64(ev.Seq))
			if acted {
				save() // before the next action: a crash repeats at most this one, which its id dedupes
			} else {
				dirty = true
			}
		}
		if dirty && time.Since(saved) >= r.save {
			save()
		}
	}
}

// handle acts on one event, trying again until it succeeds or ctx ends
// (ok false). acted says whether the route's action was carried out.
func (r *Runner) handle(ctx context.Context, spec *Spec, progs programs, st *State, ev *eventlog.Event) (acted, ok bool) {
	for attempt := 0; ; attempt++ {
		p, matched, err := r.plan(ctx, spec, progs, ev)
		if err == nil && !matched {
			st.Skipped++
			r.core.Metrics.RouteActions.WithLabelValues(spec.Name, "skipped").Inc()
			return false, true
		}
		if err == nil {
			err = r.act(ctx, spec, p)
		}
		if ctx.Err() != nil {
			return false, false
		}
		if err == nil {
			st.Done++
			if st.Failing {
				st.Failing, st.Stuck = false, 0
				r.log.Info("route recovered", "route", spec.Name, "seq", ev.Seq, "attempts", attempt+1)
			}
			r.core.Metrics.RouteActions.WithLabelValues(spec.Name, "done").Inc()
			return true, true
		}
		r.core.Metrics.RouteActions.WithLabelValues(spec.Name, "failed").Inc()
		r.fail(ctx, spec.Name, st, ev.Seq, err)
		if ctxtime.Sleep(ctx, r.retry[min(attempt, len(r.retry)-1)]) != nil {
			return false, false
		}
	}
}

// plan evaluates the route on ev: whether it matches, and what it does.
func (r *Runner) plan(ctx context.Context, spec *Spec, progs programs, ev *eventlog.Event) (Plan, bool, error) {
	vars, err := activation(ev)
	if err != nil {
		return Plan{}, false, err
	}
	ok, err := progs.match(vars)
	if err != nil || !ok {
		return Plan{}, false, err
	}
	params, err := progs.paramsOf(vars)
	if err != nil {
		return Plan{}, true, err
	}
	p, err := plan(spec.Action.Kind, params)
	if err != nil {
		return Plan{}, true, err
	}
	p.EventID = "route." + spec.Name + "." + strconv.FormatUint(ev.Seq, 10)
	return p, true, nil
}

func (r *Runner) act(ctx context.Context, spec *Spec, p Plan) error {
	var key *auth.Key
	if spec.Action.As != "" {
		k, err := r.actingKey(ctx, spec.Action)
		if err != nil {
			return err
		}
		key = &k
	}
	return r.do(ctx, p, key)
}

// actingKey returns the key an action acts as, checked for its dialect.
func (r *Runner) actingKey(ctx context.Context, a Action) (auth.Key, error) {
	k, err := r.core.Auth.Get(ctx, a.As)
	if err != nil {
		return auth.Key{}, fmt.Errorf("action.as %s: %w", a.As, err)
	}
	want := map[string]string{"zulip.message": "zulip", "hue.put": "hue", "native.publish": ""}[a.Kind]
	if k.Dialect != want {
		return auth.Key{}, fmt.Errorf("%w: action.as %s is a key for the %s API, not %s", ErrInvalid, a.As, dialectName(k.Dialect), dialectName(want))
	}
	return k, nil
}

func dialectName(d string) string {
	if d == "" {
		return "native"
	}
	return d
}

func (r *Runner) fail(ctx context.Context, name string, st *State, seq uint64, err error) {
	st.Failing, st.Stuck = true, seq
	st.LastError, st.ErrorAt = err.Error(), time.Now().UTC()
	r.log.Warn("route failed", "route", name, "seq", seq, "err", err)
	if err := r.putState(ctx, name, st); err != nil && ctx.Err() == nil {
		r.log.Warn("route state not saved", "route", name, "err", err)
	}
}
