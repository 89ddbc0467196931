package hueconn

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/hue"
)

// The bridge's documented pace (developers.meethue.com, "Things you need
// to know"): about 10 commands a second to lights, 1 a second to groups.
const (
	lightRate = 10
	groupRate = 1
	// maxQueue is how long a write may wait for its turn; one that would
	// wait longer is answered 429 with the wait as Retry-After.
	maxQueue       = 5 * time.Second
	forwardTimeout = 10 * time.Second
	maxAnswer      = 1 << 20
)

// groupTypes are the resources whose writes the bridge sends to many
// lights at once: they take the groups' pace.
var groupTypes = map[string]bool{
	"grouped_light": true, "room": true, "zone": true, "bridge_home": true,
	"scene": true, "smart_scene": true, "entertainment_configuration": true,
}

// Forwarder sends a mirrored bridge's writes to the real bridge at the
// bridge's pace. One per node and definition: the pace is per node, so N
// nodes forwarding at once may reach the bridge N times as fast.
type Forwarder struct {
	c      *client
	lights *rate.Limiter
	groups *rate.Limiter

	mu       sync.Mutex
	notUntil time.Time // the bridge's last Retry-After
}

var _ hue.Upstream = (*Forwarder)(nil)

// NewForwarder returns the forwarder of a hue connector's definition.
func NewForwarder(spec connector.Spec, hc *http.Client) *Forwarder {
	return &Forwarder{
		c:      newClient(spec, hc),
		lights: rate.NewLimiter(lightRate, 1),
		groups: rate.NewLimiter(groupRate, 1),
	}
}

// Forward sends one write and returns the bridge's answer as it was.
func (f *Forwarder) Forward(ctx context.Context, method, path string, body []byte) (hue.Answer, error) {
	if err := f.turn(ctx, path); err != nil {
		return hue.Answer{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, forwardTimeout)
	defer cancel()
	req, err := f.c.request(ctx, method, path, bytes.NewReader(body))
	if err != nil {
		return hue.Answer{}, unreachable(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.c.http.Do(req)
	if err != nil {
		return hue.Answer{}, unreachable(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return hue.Answer{}, unreachable(err)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d := retryAfter(resp.Header); d > 0 {
			f.mu.Lock()
			f.notUntil = time.Now().Add(d)
			f.mu.Unlock()
		}
	}
	return hue.Answer{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// turn waits for the write's turn at its resource type's pace.
func (f *Forwarder) turn(ctx context.Context, path string) error {
	f.mu.Lock()
	hold := time.Until(f.notUntil)
	f.mu.Unlock()
	if hold > 0 {
		return busy(hold)
	}
	lim := f.lights
	rest, _ := strings.CutPrefix(path, "/clip/v2/resource/")
	rtype, _, _ := strings.Cut(rest, "/")
	if groupTypes[rtype] {
		lim = f.groups
	}
	r := lim.Reserve()
	d := r.Delay()
	if d > maxQueue {
		r.Cancel()
		return busy(d)
	}
	if d == 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

func busy(d time.Duration) error {
	return &dialect.Problem{Kind: dialect.RateLimited, Code: dialect.RateLimited.String(),
		Message: "the bridge's pace is reached; retry later", RetryAfter: d}
}

func unreachable(err error) error {
	return &dialect.Problem{Kind: dialect.Unavailable, Code: dialect.Unavailable.String(),
		Message: "the mirrored bridge did not answer", Err: err}
}

// Forwarders gives a node's Hue dialect the forwarder of the hue connector
// it mirrors (hue.Config.Upstream), made once per definition and made
// again when the definition changes.
type Forwarders struct {
	// Lookup returns a connector's definition on this node.
	Lookup func(ctx context.Context, name string) (connector.Spec, error)
	// HTTP returns the client for a definition (its TLS settings).
	HTTP func(connector.Spec) *http.Client

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	spec connector.Spec
	f    *Forwarder
}

// Upstream is the hue.Config.Upstream of a node.
func (fs *Forwarders) Upstream(ctx context.Context, name string) (hue.Upstream, error) {
	spec, err := fs.Lookup(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("hue: connector %q: %w", name, err)
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if c, ok := fs.cache[name]; ok && c.spec == spec {
		return c.f, nil
	}
	var hc *http.Client
	if fs.HTTP != nil {
		hc = fs.HTTP(spec)
	}
	f := NewForwarder(spec, hc)
	if fs.cache == nil {
		fs.cache = map[string]cached{}
	}
	fs.cache[name] = cached{spec, f}
	return f, nil
}
