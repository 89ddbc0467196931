package hue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/topic"
)

// The projection: the KV state is the fold of the log's Hue events. Every
// path that changes state — a write right after its append, the projector
// that follows the log on every node, the catch-up at start — goes through
// project, so they agree whatever order they run in.

const (
	// projectedKey holds a log sequence up to which every Hue event is
	// known to be folded into the state: where a starting node catches up from.
	projectedKey = "projected"
	// projectBatch is how many events one log read returns while folding.
	projectBatch = 256
	// saveEvery is how often the projector records its position.
	saveEvery = time.Second
	// projectParallel bounds the resources one batch projects at once.
	projectParallel = 8
)

// projector folds log events into the store.
type projector struct {
	core   *dialect.Core
	store  *store
	logger *slog.Logger
}

// fold applies one event to a resource's state (nil: none): add sets it,
// update merges the item's fields into it, delete removes it. A write
// stages its changes with fold too, so what it computes from and what the
// projection stores are the same.
func fold(cur object, kind string, item object) object {
	switch kind {
	case "add":
		return clone(item)
	case "update":
		if cur == nil {
			return nil // an update of nothing: the add is older than retention
		}
		o := clone(cur)
		merge(o, item)
		return o
	case "delete":
		return nil
	}
	return cur
}

// applyEvent folds a log event into the state of resource rtype/id. An
// event that is not an item of this resource (a publisher's own payload on
// a hue topic) is delivered to clients but changes no state.
func applyEvent(cur object, rtype, id string, ev *eventlog.Event) (object, bool) {
	switch ev.Type {
	case "add", "update", "delete":
	default:
		return cur, false
	}
	var item object
	if json.Unmarshal(ev.Data, &item) != nil || str(item, "id") != id || str(item, "type") != rtype {
		return cur, false
	}
	return fold(cur, ev.Type, item), true
}

// project brings the entry of resource rtype/id up to log sequence upTo
// (at least) by folding, in log order, the events on its topic after the
// sequence it records. It is idempotent, and concurrent projections of one
// resource settle by compare-and-set: the loser re-reads and finds the
// work done. Events older than retention are gone; folding resumes at the
// earliest stored one (a node would have had to be down, with its write
// unprojected, for the whole retention period to lose anything).
func (p *projector) project(ctx context.Context, rtype, id string, upTo uint64) error {
	f := topic.Filter{resTopic(rtype, id)}
	for range maxCASRetries {
		e, rev, err := p.store.entry(ctx, rtype, id)
		if err != nil {
			return err
		}
		if e.Seq >= upTo {
			return nil
		}
		cur, applied := e.Res, false
		sc := p.core.Scan(e.Seq, f, dialect.Page(projectBatch), dialect.Through(upTo), dialect.SkipExpired())
		for ev := range sc.Events(ctx) {
			var ok bool
			if cur, ok = applyEvent(cur, rtype, id, ev); ok {
				applied = true
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("hue: project %s %s: %w", rtype, id, err)
		}
		seq := sc.Position()
		if rev == 0 && !applied {
			return nil // nothing ever existed here
		}
		err = p.store.put(ctx, rtype, id, entry{Seq: seq, Res: cur, Deleted: cur == nil}, rev)
		if errors.Is(err, eventlog.ErrConflict) {
			continue // another node or request projected it meanwhile
		}
		return err
	}
	return fmt.Errorf("hue: project %s %s: %w", rtype, id, eventlog.ErrConflict)
}

// resource names a resource in the bucket.
type resource struct{ rtype, id string }

// projectEvents projects every resource the events are about, each up to
// its last event among them.
func (p *projector) projectEvents(ctx context.Context, evs []*eventlog.Event) error {
	last := map[resource]uint64{}
	var order []resource
	for _, ev := range evs {
		rtype, id, ok := parseResTopic(ev.Topic)
		if !ok {
			continue
		}
		r := resource{rtype, id}
		if _, seen := last[r]; !seen {
			order = append(order, r)
		}
		last[r] = max(last[r], ev.Seq)
	}
	if len(order) == 1 {
		return p.project(ctx, order[0].rtype, order[0].id, last[order[0]])
	}
	// Resources fold independently: project them side by side, so a write
	// that touches many (a device joining) answers in about one round.
	errs := make([]error, len(order))
	sem := make(chan struct{}, projectParallel)
	var wg sync.WaitGroup
	for i, r := range order {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = p.project(ctx, r.rtype, r.id, last[r])
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// catchUp projects every Hue event after `after` up to the end of the log
// as it is now and returns the position reached. A node runs it on start,
// so a write that was appended but not projected when a node crashed is
// repaired before the bridge answers.
func (p *projector) catchUp(ctx context.Context, after uint64) (uint64, error) {
	_, last, err := p.core.Log.Bounds(ctx)
	if err != nil {
		return after, fmt.Errorf("hue: catch up: %w", err)
	}
	// Events are projected a batch at a time, the resources of a batch
	// side by side; done is how far every Hue event is projected.
	done, batch := after, make([]*eventlog.Event, 0, 1024)
	flush := func(through uint64) error {
		if err := p.projectEvents(ctx, batch); err != nil {
			return err
		}
		done, batch = through, batch[:0]
		return nil
	}
	sc := p.core.Scan(after, hueScope, dialect.Through(last), dialect.SkipExpired())
	for ev := range sc.Events(ctx) {
		if batch = append(batch, ev); len(batch) == eventlog.MaxRead {
			if err := flush(ev.Seq); err != nil {
				return done, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return done, fmt.Errorf("hue: catch up: %w", err)
	}
	if err := flush(sc.Position()); err != nil {
		return done, err
	}
	return done, nil
}

// run follows the log from `after` through the hub and projects each Hue
// event, until ctx ends: a write whose node died between its append and
// its projection is repaired by every other node within moments. Most
// events are already projected by their writer; checking costs one read.
func (p *projector) run(ctx context.Context, h *hub.Hub, after uint64) {
	sub := h.Subscribe(after, hueScope)
	defer sub.Close()
	saved, backoff := time.Now(), 100*time.Millisecond
	for {
		pos := sub.Position()
		evs, err := sub.Next(ctx, maxMessageEvents)
		var ee *eventlog.ExpiredError
		switch {
		case ctx.Err() != nil, errors.Is(err, hub.ErrClosed):
			return
		case errors.As(err, &ee):
			p.logger.Warn("hue: projector fell behind retention", "after", ee.After, "earliest", ee.Earliest)
			sub.Reset(ee.Earliest - 1)
			continue
		case err == nil:
			ptrs := make([]*eventlog.Event, len(evs))
			for i, e := range evs {
				ptrs[i] = &e.Event
			}
			err = p.projectEvents(ctx, ptrs)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.logger.Warn("hue: projector", "after", pos, "err", err)
			sub.Reset(pos) // the same events again
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if time.Since(saved) >= saveEvery {
			if err := p.advance(ctx, sub.Position()); err != nil && ctx.Err() == nil {
				p.logger.Warn("hue: projector position", "err", err)
			}
			saved = time.Now()
		}
	}
}

// position returns the recorded projection position (0 if none).
func (p *projector) position(ctx context.Context) (uint64, error) {
	e, err := p.store.kv.Get(ctx, projectedKey)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("hue: projection position: %w", err)
	}
	n, err := strconv.ParseUint(string(e.Value), 10, 64)
	if err != nil {
		return 0, nil // unreadable: catch up from the start
	}
	return n, nil
}

// advance records seq as the projection position unless a node recorded
// a later one: positions only grow.
func (p *projector) advance(ctx context.Context, seq uint64) error {
	val := []byte(strconv.FormatUint(seq, 10))
	for range maxCASRetries {
		e, err := p.store.kv.Get(ctx, projectedKey)
		switch {
		case errors.Is(err, eventlog.ErrKeyNotFound):
			_, err = p.store.kv.Create(ctx, projectedKey, val)
		case err != nil:
			return fmt.Errorf("hue: projection position: %w", err)
		default:
			if n, perr := strconv.ParseUint(string(e.Value), 10, 64); perr == nil && n >= seq {
				return nil
			}
			_, err = p.store.kv.Update(ctx, projectedKey, val, e.Revision)
		}
		if !errors.Is(err, eventlog.ErrConflict) {
			if err != nil {
				return fmt.Errorf("hue: projection position: %w", err)
			}
			return nil
		}
	}
	return fmt.Errorf("hue: projection position: %w", eventlog.ErrConflict)
}
