package hue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// The link button's state is one bucket entry shared by every node, so a
// press on one opens pairing on all: when it was last pressed and how many
// applications paired since. Each node keeps a copy in memory, followed
// with a watch, so refusing a pairing (not pressed, window over, pairings
// used up) costs no engine call; only a pairing that may succeed goes to
// the engine, to count itself with a compare-and-set.
const (
	linkPrefix = "link."
	linkKey    = linkPrefix + "button"
)

// linkPress is the value of linkKey.
type linkPress struct {
	At     time.Time `json:"at"`
	Paired int       `json:"paired"`
}

// linkButton is a node's view of the link button.
//
// Ownership: mu guards press and rev, which the watch, presses and claims
// write, each only to a newer revision than it holds. claims lets one
// claim at a time per node reach the engine, so a node's concurrent
// pairings queue instead of failing each other's compare-and-set.
type linkButton struct {
	kv     eventlog.KV
	window time.Duration
	max    int
	logger *slog.Logger

	mu    sync.Mutex
	press linkPress
	rev   uint64

	claims chan struct{}
}

func newLinkButton(kv eventlog.KV, window time.Duration, max int, logger *slog.Logger) *linkButton {
	return &linkButton{kv: kv, window: window, max: max, logger: logger, claims: make(chan struct{}, 1)}
}

// open reports whether a pairing may succeed now, from memory.
func (l *linkButton) open(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.openLocked(now)
}

func (l *linkButton) openLocked(now time.Time) bool {
	p := l.press
	return !p.At.IsZero() && now.Sub(p.At) <= l.window && p.Paired < l.max
}

// set records the state at revision rev unless a newer one is held.
func (l *linkButton) set(p linkPress, rev uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rev > l.rev {
		l.press, l.rev = p, rev
	}
}

// apply records a bucket entry; a deleted or unreadable one is a button
// never pressed.
func (l *linkButton) apply(e eventlog.Entry) {
	var p linkPress
	if e.Value != nil && json.Unmarshal(e.Value, &p) != nil {
		p = linkPress{}
	}
	l.set(p, e.Revision)
}

// load reads the state once, before the node serves.
func (l *linkButton) load(ctx context.Context) error {
	e, err := l.kv.Get(ctx, linkKey)
	if errors.Is(err, eventlog.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("hue: link button: %w", err)
	}
	l.apply(e)
	return nil
}

// follow keeps the state current with presses and pairings on other
// nodes until ctx ends, watching again after a pause if the watch ends.
func (l *linkButton) follow(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		err := l.kv.Watch(ctx, linkPrefix, func(e eventlog.Entry) {
			if e.Key == linkKey {
				l.apply(e)
			}
		})
		if ctx.Err() != nil {
			return
		}
		l.logger.Warn("hue: link button watch ended; retrying", "err", err, "in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// pressAt presses the button: a new window, with no pairing in it yet.
func (l *linkButton) pressAt(ctx context.Context, now time.Time) error {
	p := linkPress{At: now}
	b, _ := json.Marshal(p)
	rev, err := l.kv.Put(ctx, linkKey, b)
	if err != nil {
		return fmt.Errorf("hue: press link button: %w", err)
	}
	l.set(p, rev)
	return nil
}

// claim takes one of the press's pairings for a new application key; false
// means the window is over or its pairings are used up. The count is
// taken before the key is made, so a failure after it loses a pairing
// rather than exceeding the cap.
func (l *linkButton) claim(ctx context.Context, now time.Time) (bool, error) {
	select {
	case l.claims <- struct{}{}:
		defer func() { <-l.claims }()
	case <-ctx.Done():
		return false, ctx.Err()
	}
	for range maxCASRetries {
		l.mu.Lock()
		if !l.openLocked(now) {
			l.mu.Unlock()
			return false, nil
		}
		next, rev := l.press, l.rev
		l.mu.Unlock()
		next.Paired++
		b, _ := json.Marshal(next)
		newRev, err := l.kv.Update(ctx, linkKey, b, rev)
		if err == nil {
			l.set(next, newRev)
			return true, nil
		}
		if !errors.Is(err, eventlog.ErrConflict) {
			return false, fmt.Errorf("hue: link button: %w", err)
		}
		// Another node paired or pressed meanwhile: read what it wrote.
		e, err := l.kv.Get(ctx, linkKey)
		switch {
		case errors.Is(err, eventlog.ErrKeyNotFound):
			l.mu.Lock()
			l.press = linkPress{} // deleted: never pressed, until the watch says more
			l.mu.Unlock()
			return false, nil
		case err != nil:
			return false, fmt.Errorf("hue: link button: %w", err)
		}
		l.apply(e)
	}
	return false, fmt.Errorf("hue: link button: %w", eventlog.ErrConflict)
}
