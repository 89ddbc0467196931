package zulip

import (
	"context"
	"errors"
	"time"

	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/faults"
)

// expire_queue rules (internal/faults) garbage-collect queues under their
// clients, as Zulip does with a queue idle too long: the queue is deleted
// and its poll answers BAD_EVENT_QUEUE_ID, so the client registers again.
// A rule expires each matching queue registered before it was made, at
// its next poll, or at once when a poll is waiting on it on this node.

// errFaultExpired ends a waiting poll whose queue an expire_queue rule
// expires.
var errFaultExpired = errors.New("zulip: queue expired by a fault rule")

// expireFault expires the queue of cursor st if a rule says so; the error
// is the one its client is answered.
func (a *API) expireFault(ctx context.Context, st *cursor.State, qid string) error {
	if _, ok := a.core.Faults.Rules().ExpireQueue(st.Owner, qid, st.Created); !ok {
		return nil
	}
	return a.expired(ctx, st.ID, qid)
}

// expired drops a queue a rule expires.
func (a *API) expired(ctx context.Context, id, qid string) error {
	a.core.Metrics.FaultsInjected.WithLabelValues(dialectName, string(faults.ExpireQueue)).Inc()
	a.core.Logger.Info("zulip: queue expired by a fault rule", "queue", id)
	return a.dropQueue(ctx, id, qid)
}

// expireWaiting ends the polls waiting on this node on queues the rules
// in effect expire; each poll then drops its queue. It runs when the rules
// change.
func (a *API) expireWaiting() {
	rs := a.core.Faults.Rules()
	if !rs.ExpiresQueues() {
		return
	}
	a.polls.expire(func(owner, qid string, created time.Time) bool {
		_, ok := rs.ExpireQueue(owner, qid, created)
		return ok
	}, errFaultExpired)
}
