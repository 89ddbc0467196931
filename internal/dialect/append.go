package dialect

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/eventlog"
)

// Namespaces are the first topic tokens each vendor dialect owns. What is
// stored under them is served as that vendor's own data (a Zulip message
// with its sender and rendered content, a Hue resource's state), so only
// the dialect's own API — or an admin key — may append there: a native key
// with publish ">" must not forge a Zulip message from someone else.
var namespaces = map[string]bool{"hue": true, "zulip": true, "jetstream": true, "plex": true}

// Namespace returns the vendor dialect whose namespace topic t is in (only
// it, or an admin key, appends there), or "".
func Namespace(t string) string {
	if ns, _, _ := strings.Cut(t, "."); namespaces[ns] {
		return ns
	}
	return ""
}

// keyCtx carries the authenticated key of a request (see WithKey).
type keyCtx struct{}

// WithKey returns ctx carrying the key a request authenticated with; the
// guard sets it, so that Append checks that key's scopes whichever dialect
// appends and however deep in its code.
func WithKey(ctx context.Context, k *auth.Key) context.Context {
	return context.WithValue(ctx, keyCtx{}, k)
}

// KeyFrom returns the key ctx carries, or nil.
func KeyFrom(ctx context.Context) *auth.Key {
	k, _ := ctx.Value(keyCtx{}).(*auth.Key)
	return k
}

// Append appends drafts on behalf of a dialect and records the metrics. It
// is the one way into the log, and checks for every dialect what a publish
// may do: with a key in ctx (every guarded request) each topic must be in
// the key's publish scope; a dialect's namespace is only its own (or an
// admin key's); data must be valid UTF-8, so that no stored event makes a
// page of answers unreadable to a strict JSON reader. Without a key the
// append is herald's own (a simulator, a projector) and only the namespace
// rule applies.
func (c *Core) Append(ctx context.Context, dialect string, drafts []eventlog.Draft) ([]eventlog.Ack, error) {
	key := KeyFrom(ctx)
	drafts = withDerivedIDs(ctx, drafts)
	for i, d := range drafts {
		if err := checkDraft(dialect, key, d); err != nil {
			if len(drafts) > 1 {
				p := *err
				p.Message = "event " + strconv.Itoa(i) + ": " + p.Message
				return nil, &p
			}
			return nil, err
		}
	}
	start := time.Now()
	acks, err := c.Log.Append(ctx, drafts)
	if err != nil {
		return nil, err
	}
	c.Metrics.AppendSeconds.Observe(time.Since(start).Seconds())
	stored := 0
	for _, a := range acks {
		if !a.Duplicate {
			stored++
		}
	}
	c.Metrics.EventsAppended.WithLabelValues(dialect).Add(float64(stored))
	return acks, nil
}

func checkDraft(dialect string, key *auth.Key, d eventlog.Draft) *Problem {
	ns, _, _ := strings.Cut(d.Topic, ".")
	admin := key != nil && key.Admin && key.Dialect == ""
	switch {
	case namespaces[ns] && ns != dialect && !admin:
		return &Problem{Kind: Forbidden, Code: Forbidden.String(),
			Message: "topics under " + ns + ". are the " + ns + " API's own; publish there through it (or with an admin key)"}
	case key != nil && !key.CanPublish(d.Topic):
		return &Problem{Kind: Forbidden, Code: Forbidden.String(), Message: "this key may not publish to " + d.Topic}
	case !utf8.Valid(d.Data):
		return &Problem{Kind: BadRequest, Code: BadRequest.String(), Message: "data is not valid UTF-8"}
	}
	return nil
}
