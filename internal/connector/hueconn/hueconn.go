// Package hueconn is the connector of kind hue: herald follows a real Hue
// bridge and serves it, through its own Hue dialect, to every Hue client
// paired with herald. The dialect's side (the mirror record, the resource
// diff, forwarded writes) is internal/dialect/hue's mirror.go; this package
// is the bridge's client.
//
// A session: read the bridge's id and name; open the event stream; record
// the mirror; read every resource and make herald's state equal to them
// (the events that came on the stream meanwhile are sorted out by the
// dialect); then append each message of the stream as it comes. A session
// that ends for any reason but a refused key starts again after a pause
// (the bridge's Retry-After, else a growing backoff), beginning with a new
// resource diff: what changed while the stream was down arrives as update
// events, which a bridge itself never replays.
package hueconn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/ctxtime"
	"github.com/herald-io/herald/internal/dialect/hue"
)

// Backoff between sessions.
const (
	minBackoff = time.Second
	maxBackoff = time.Minute
	// healthy is how long a session must last for the backoff to start
	// over: a bridge that accepts and then drops at once is not hammered.
	healthy = 30 * time.Second
)

// Kind follows Hue bridges into one herald Hue dialect.
type Kind struct {
	hue *hue.API
	// sleep waits between sessions (tests record the waits instead, and
	// may replace it while Run goes on).
	sleep atomic.Pointer[func(ctx context.Context, d time.Duration) error]
}

var (
	_ connector.Kind    = (*Kind)(nil)
	_ connector.Remover = (*Kind)(nil)
	_ connector.Single  = (*Kind)(nil)
)

// New returns the kind for the node's Hue dialect.
func New(h *hue.API) *Kind {
	k := &Kind{hue: h}
	f := ctxtime.Sleep
	k.sleep.Store(&f)
	return k
}

// Check needs an http(s) URL and an application key.
func (k *Kind) Check(spec connector.Spec) error {
	u, err := url.Parse(spec.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("hue: url must be the bridge's http(s) address, e.g. https://192.168.1.2")
	}
	if strings.TrimSpace(spec.Key) == "" {
		return fmt.Errorf("hue: key (the bridge application key) is required")
	}
	return nil
}

// Single: herald is one bridge, so it mirrors one.
func (k *Kind) Single() {}

// Leftovers names the connector whose bridge this herald mirrors.
func (k *Kind) Leftovers() []string {
	if name := k.hue.Mirroring(); name != "" {
		return []string{name}
	}
	return nil
}

// Removed ends the mirror of a removed connector: the upstream's resources
// are deleted (with delete events) and herald's own bridge comes back
// (internal/dialect/hue's mirrorend.go).
func (k *Kind) Removed(ctx context.Context, name string) error {
	return k.hue.EndMirror(ctx, name)
}

// Run follows the bridge until ctx ends or the bridge refuses the key.
func (k *Kind) Run(ctx context.Context, env connector.Env) error {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := newClient(env.Spec, env.HTTP)
	m := k.hue.Mirror(env.Spec.Name)
	backoff := minBackoff
	for first := true; ; first = false {
		if !first {
			env.Report.Reconnecting()
		}
		began := time.Now()
		err := k.session(ctx, env, c, m)
		env.Report.Connected(false)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		env.Report.Failed(err)
		if errors.Is(err, connector.ErrStopped) {
			logger.Warn("hue connector stopped", "connector", env.Spec.Name, "err", err)
			return err
		}
		if time.Since(began) >= healthy {
			backoff = minBackoff
		}
		wait := backoff
		var re *retryError
		if errors.As(err, &re) && re.after > 0 {
			wait = re.after
		} else {
			backoff = min(2*backoff, maxBackoff)
		}
		logger.Info("hue connector reconnecting", "connector", env.Spec.Name, "err", err, "in", wait)
		if err := (*k.sleep.Load())(ctx, wait); err != nil {
			return err
		}
	}
}

// session is one connection to the bridge, from the resource diff to the
// end of its stream. It always returns an error: the reason it ended.
//
// Ownership: the reader goroutine owns the stream's body and is the only
// sender on msgs, which it closes when the stream ends; session closes the
// body (ending the reader) when it returns, and waits for the reader.
func (k *Kind) session(ctx context.Context, env connector.Env, c *client, m *hue.Mirror) error {
	cfg, err := c.config(ctx)
	if err != nil {
		return err
	}
	body, err := c.stream(ctx)
	if err != nil {
		return err
	}
	msgs := make(chan message, 1024)
	readErr := make(chan error, 1)
	go func() {
		defer close(msgs)
		rd := newSSEReader(body)
		for {
			msg, err := rd.next()
			if err != nil {
				readErr <- err
				return
			}
			select {
			case msgs <- msg:
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
		}
	}()
	defer func() {
		body.Close()
		for range msgs { // let the reader end
		}
	}()

	if err := m.Begin(ctx, cfg.BridgeID, cfg.Name); err != nil {
		return err
	}
	snapshot, err := c.resources(ctx)
	if err != nil {
		return err
	}
	// What came on the stream while the resources were read.
	var overlap []hue.Event
	var last message
	for drained := false; !drained; {
		select {
		case msg, ok := <-msgs:
			if !ok {
				drained = true
				break
			}
			overlap = append(overlap, decode(env, msg)...)
			last = msg
		default:
			drained = true
		}
	}
	n, err := m.Sync(ctx, snapshot, overlap)
	if err != nil {
		return err
	}
	env.Report.Connected(true)
	env.Report.Ingested(n, time.Now())
	if err := storePosition(ctx, env, last); err != nil {
		return err
	}
	for msg := range msgs {
		evs := decode(env, msg)
		n, err := m.Ingest(ctx, evs)
		if err != nil {
			return err
		}
		if n > 0 {
			env.Report.Ingested(n, newest(evs))
		}
		if err := storePosition(ctx, env, msg); err != nil {
			return err
		}
	}
	err = <-readErr
	if errors.Is(err, io.EOF) {
		err = errors.New("hue: the bridge ended the event stream")
	}
	return err
}

// decode parses a message's data as a list of Hue events; what is not one
// is reported and skipped (a stream of a newer firmware may carry more).
func decode(env connector.Env, msg message) []hue.Event {
	var evs []hue.Event
	if err := json.Unmarshal(msg.data, &evs); err != nil {
		env.Report.Failed(fmt.Errorf("hue: stream message %q is not a list of events: %w", msg.id, err))
		return nil
	}
	return evs
}

// storePosition keeps the id of the last message appended: the bridge's
// own ids ("<unix seconds>:0") say when, and cannot be resumed from (the
// next session diffs instead), but the operator sees how far the mirror got.
func storePosition(ctx context.Context, env connector.Env, msg message) error {
	if msg.id == "" || env.Positions == nil {
		return nil
	}
	if err := env.Positions.Store(ctx, msg.id); err != nil {
		return fmt.Errorf("hue: store position: %w", err)
	}
	return nil
}

// newest is the newest creation time among evs (now if none parses).
func newest(evs []hue.Event) time.Time {
	var t time.Time
	for _, ev := range evs {
		if ct, err := time.Parse(time.RFC3339, ev.CreationTime); err == nil && ct.After(t) {
			t = ct
		}
	}
	if t.IsZero() {
		return time.Now()
	}
	return t
}
