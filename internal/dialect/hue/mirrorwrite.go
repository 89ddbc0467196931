package hue

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// Writes to a mirrored bridge. A client's PUT, POST or DELETE goes to the
// upstream as it came, and the client gets the upstream's answer. Nothing
// is appended or folded here: the change comes back through the upstream's
// stream, which the connector appends like every upstream event, so it is
// in the log once. The write waits (up to EchoWait) for that event and
// projects it before answering, so that the client reads its own write as
// from the bridge itself; a write the bridge reports no change for answers
// after EchoWait.

// Upstream is where a mirrored bridge's writes go: the real bridge.
type Upstream interface {
	// Forward sends a client's write (method, path and query, body) to the
	// bridge and returns its answer. Its errors are dialect kinds
	// (Unavailable, RateLimited) whose text a client may see.
	Forward(ctx context.Context, method, path string, body []byte) (Answer, error)
}

// Answer is the upstream's answer to a forwarded write.
type Answer struct {
	Status int
	Header http.Header // what is passed on: Content-Type, Retry-After
	Body   []byte
}

// errNoUpstream: this node cannot reach the mirrored bridge.
var errNoUpstream = dialect.Sentinel(dialect.Unavailable, "the mirrored bridge cannot be reached from this node")

// forwarded serves h on a bridge of herald's own and forwards the request
// on a mirrored one.
func (a *API) forwarded(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		m := a.mirroring()
		if m == nil {
			return h(w, r)
		}
		return a.forward(w, r, m)
	}
}

// simulated refuses a simulator endpoint on a mirrored bridge: a simulated
// device must not appear among a real bridge's.
func (a *API) simulated(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if m := a.mirroring(); m != nil {
			return fmt.Errorf("%w (connector %q, bridge %s): the simulator is off", errMirrored, m.Connector, m.BridgeID)
		}
		return h(w, r)
	}
}

func (a *API) forward(w http.ResponseWriter, r *http.Request, m *mirrorRecord) error {
	ctx := r.Context()
	if a.cfg.Upstream == nil {
		return errNoUpstream
	}
	up, err := a.cfg.Upstream(ctx, m.Connector)
	if err != nil {
		return &dialect.Problem{Kind: dialect.Unavailable, Message: errNoUpstream.Error(), Err: err}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	after, err := a.core.Start(ctx, dialect.FromNow())
	if err != nil {
		return err
	}
	ans, err := up.Forward(ctx, r.Method, r.URL.RequestURI(), body)
	if err != nil {
		return err
	}
	if ans.Status/100 == 2 {
		own := resource{r.PathValue("type"), r.PathValue("id")}
		if err := a.awaitEcho(ctx, after, echoed(own, ans.Body)); err != nil {
			a.core.Logger.Warn("hue: mirrored write: projecting its echo", "err", err)
		}
	}
	for _, h := range []string{"Content-Type", "Retry-After"} {
		if v := ans.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(ans.Status)
	w.Write(ans.Body)
	return nil
}

// echoed is what a write's answer says it changed: the identifiers in its
// data, and the resource the path names (empty for a POST).
func echoed(own resource, answer []byte) []resource {
	var env struct {
		Data []ref `json:"data"`
	}
	json.Unmarshal(answer, &env)
	out := make([]resource, 0, len(env.Data)+1)
	seen := map[resource]bool{}
	add := func(r resource) {
		if !seen[r] && knownType(r.rtype) && uuidRE.MatchString(r.id) {
			seen[r] = true
			out = append(out, r)
		}
	}
	add(own)
	for _, d := range env.Data {
		add(resource{d.RType, d.RID})
	}
	return out
}

// awaitEcho waits up to EchoWait for an event after `after` on each of the
// resources' topics and projects what came, so this node's state has it.
func (a *API) awaitEcho(ctx context.Context, after uint64, rs []resource) error {
	if len(rs) == 0 {
		return nil
	}
	f := make(topic.Filter, len(rs))
	want := map[string]bool{}
	for i, r := range rs {
		f[i] = resTopic(r.rtype, r.id)
		want[f[i]] = true
	}
	sub := a.core.Hub.Subscribe(after, f)
	defer sub.Close()
	var got []*eventlog.Event
	deadline := time.Now().Add(a.cfg.EchoWait)
	for len(want) > 0 {
		wait := time.Until(deadline)
		if wait <= 0 {
			break
		}
		evs, err := sub.NextWithin(ctx, maxMessageEvents, wait)
		if err != nil {
			return err
		}
		for _, e := range evs {
			delete(want, e.Topic)
			got = append(got, &e.Event)
		}
	}
	return a.proj.projectEvents(ctx, got)
}
