package dialect

import (
	"context"
	"strconv"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/eventlog"
)

// actingCtx carries the key an in-process request acts as (see ActAs).
type actingCtx struct{}

// ActAs returns ctx for a request that herald makes to its own API on
// behalf of k (a route acting as a Zulip user or a Hue application): the
// guard takes k as authenticated, without a credential, and applies
// everything else — the dialect check, faults, the rate limit, the body
// limit, and Append's scope checks. Only code in the process can set it;
// nothing a client sends reaches a context value.
func ActAs(ctx context.Context, k *auth.Key) context.Context {
	return context.WithValue(ctx, actingCtx{}, k)
}

func actingAs(ctx context.Context) *auth.Key {
	k, _ := ctx.Value(actingCtx{}).(*auth.Key)
	return k
}

// eventIDCtx carries the id Append gives the events it stores (see WithEventID).
type eventIDCtx struct{}

// WithEventID returns ctx under which Append gives the drafts that have no
// id of their own the id id (one draft) or id.0, id.1, … (several), so a
// derived event (a route's action on a source event) stored again after a
// crash is recognised by the log's dedupe and kept once.
func WithEventID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, eventIDCtx{}, id)
}

// withDerivedIDs returns drafts with the ids ctx asks for (a copy; drafts
// the caller gave ids keep them).
func withDerivedIDs(ctx context.Context, drafts []eventlog.Draft) []eventlog.Draft {
	id, _ := ctx.Value(eventIDCtx{}).(string)
	if id == "" {
		return drafts
	}
	out := make([]eventlog.Draft, len(drafts))
	for i, d := range drafts {
		if d.ID == "" {
			d.ID = id
			if len(drafts) > 1 {
				d.ID = id + "." + strconv.Itoa(i)
			}
		}
		out[i] = d
	}
	return out
}
