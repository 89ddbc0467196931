package native

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/topic"
)

// subscriptionView is a durable subscription as the API shows it.
type subscriptionView struct {
	Name       string       `json:"name"`
	Topics     topic.Filter `json:"topics"`
	Position   uint64       `json:"position"` // every event up to here is acknowledged
	Pending    int          `json:"pending"`  // matching events after position (counted up to 10000)
	Batch      *string      `json:"batch"`    // the pending batch handed out, if any
	Owner      string       `json:"owner"`
	Created    time.Time    `json:"created"`
	LastActive time.Time    `json:"last_active"`
}

const pendingCountLimit = 10000

func (a *API) view(r *http.Request, st cursor.State) subscriptionView {
	v := subscriptionView{
		Name: nameOf(st.ID), Topics: st.Filter, Position: st.Acked,
		Owner: st.Owner, Created: st.Created, LastActive: st.LastActive,
	}
	if v.Topics == nil {
		v.Topics = topic.Filter{">"}
	}
	if st.Batch != nil {
		v.Batch = &st.Batch.ID
	}
	if n, err := a.core.Cursors.Pending(r.Context(), st, pendingCountLimit); err == nil {
		v.Pending = n
		a.core.Metrics.SubscriptionLag.WithLabelValues(v.Name).Set(float64(n))
	}
	return v
}

// Subscription names are per key: a key's "billing" is stored as
// native.<key id>.billing, so no key can learn of another's subscriptions
// by choosing the same name (a shared name space would have to refuse it).
// Versions before kept one name space, native.<name>; those subscriptions
// are still found by their owner's requests.
func subscriptionID(keyID, name string) string { return subscriptionNS + keyID + "." + name }

// nameOf is a subscription's name as its owner gave it.
func nameOf(id string) string {
	rest := strings.TrimPrefix(id, subscriptionNS)
	if _, name, ok := strings.Cut(rest, "."); ok {
		return name
	}
	return rest // stored by an older version
}

// lookup returns the key's subscription by the {name} path value: its own,
// or one an older version stored under the bare name. An admin key may
// also name another key's as <key id>.<name> (how the list shows them).
// Another key's subscription is reported as absent, not forbidden.
func (a *API) lookup(r *http.Request, key *auth.Key) (cursor.State, error) {
	return a.find(r, key, a.core.Cursors.Get)
}

// lookupRecent is lookup for a fetch or an ack, which start from the
// subscription as this node last read or stored it (cursor.Store.Recent):
// their compare-and-set finds out if another node changed it since.
func (a *API) lookupRecent(r *http.Request, key *auth.Key) (cursor.State, error) {
	return a.find(r, key, a.core.Cursors.Recent)
}

func (a *API) find(r *http.Request, key *auth.Key, get func(context.Context, string) (cursor.State, error)) (cursor.State, error) {
	name := r.PathValue("name")
	ctx := r.Context()
	id := subscriptionID(key.ID, name)
	if owner, n, ok := strings.Cut(name, "."); ok && key.Admin {
		id = subscriptionID(owner, n)
	}
	st, err := get(ctx, id)
	if errors.Is(err, cursor.ErrNotFound) && !strings.Contains(name, ".") {
		st, err = a.core.Cursors.Get(ctx, subscriptionNS+name)
		if err == nil && st.Owner != key.ID && !key.Admin {
			err = cursor.ErrNotFound
		}
	}
	if errors.Is(err, cursor.ErrNotFound) && key.Admin && !strings.Contains(name, ".") {
		st, err = a.adminLookup(ctx, name)
	}
	if err != nil {
		return cursor.State{}, fmt.Errorf("subscription %s: %w", name, err)
	}
	return st, nil
}

// adminLookup finds the one subscription of any key named name, for an
// admin key that has none of its own by that name (each node's admin key
// is a key of its own). Two keys' subscriptions of one name are told apart
// as <key id>.<name>.
func (a *API) adminLookup(ctx context.Context, name string) (cursor.State, error) {
	all, err := a.core.Cursors.List(ctx, subscriptionNS)
	if err != nil {
		return cursor.State{}, err
	}
	var found []cursor.State
	for _, st := range all {
		if nameOf(st.ID) == name {
			found = append(found, st)
		}
	}
	switch len(found) {
	case 0:
		return cursor.State{}, cursor.ErrNotFound
	case 1:
		return found[0], nil
	}
	return cursor.State{}, dialect.Errorf(dialect.Conflict, "%d keys have a subscription %s; name one as <key id>.%s", len(found), name, name)
}

type putRequest struct {
	Topics []string `json:"topics"`
	Start  string   `json:"start"` // "new" (default), "earliest" or a sequence number to start at
}

func decodeStrict(body io.Reader, v any) error {
	b, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return badRequest("reading body: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("body: %v", err)
	}
	if dec.More() {
		return badRequest("trailing data after the JSON value")
	}
	return nil
}

// putSubscription handles PUT /v1/subscriptions/{name}: creates the
// subscription (201) or changes its topics (200), keeping its position.
func (a *API) putSubscription(w http.ResponseWriter, r *http.Request, rq *dialect.Request) error {
	key := rq.Key
	name := r.PathValue("name")
	var req putRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		return err
	}
	f, err := topic.NewFilter(req.Topics)
	if err != nil {
		return err
	}
	if f, err = subscribeFilter(key, f, req.Topics != nil); err != nil {
		return err
	}
	if err := cursor.ValidID(name); err != nil || strings.Contains(name, ".") {
		return badRequest("subscription names use letters, digits, '-' and '_'")
	}
	ctx := r.Context()
	if st, err := a.lookup(r, key); err == nil {
		st, err = a.core.Cursors.Modify(ctx, st.ID, func(c *cursor.State) { c.Filter = f })
		if err != nil {
			return err
		}
		dialect.WriteJSON(w, http.StatusOK, a.view(r, st))
		return nil
	}
	from, err := parseStart(req.Start)
	if err != nil {
		return err
	}
	after, err := a.core.Start(ctx, from)
	if err != nil {
		return err
	}
	st, err := a.core.Cursors.Create(ctx, subscriptionID(key.ID, name), cursor.Spec{Filter: f, After: after, Owner: key.ID})
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusCreated, a.view(r, st))
	return nil
}

// parseStart reads a subscription's "start": "new" (the default: what is
// published from now on), "earliest", or the sequence number of the first
// event to deliver.
func parseStart(start string) (dialect.From, error) {
	switch start {
	case "", "new":
		return dialect.FromNow(), nil
	case "earliest":
		return dialect.FromEarliest(), nil
	}
	seq, err := strconv.ParseUint(start, 10, 64)
	if err != nil || seq == 0 {
		return dialect.From{}, badRequest("start must be \"new\", \"earliest\" or a sequence number ≥ 1, not %q", start)
	}
	return dialect.FromSeq(seq), nil
}

func (a *API) getSubscription(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	key := req.Key
	st, err := a.lookup(r, key)
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, a.view(r, st))
	return nil
}

func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	key := req.Key
	all, err := a.core.Cursors.List(r.Context(), subscriptionNS)
	if err != nil {
		return err
	}
	out := []subscriptionView{}
	for _, st := range all {
		if st.Owner == key.ID || key.Admin {
			out = append(out, a.view(r, st))
		}
	}
	dialect.WriteJSON(w, http.StatusOK, struct {
		Subscriptions []subscriptionView `json:"subscriptions"`
	}{out})
	return nil
}

func (a *API) deleteSubscription(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	key := req.Key
	st, err := a.lookup(r, key)
	if err == nil {
		err = a.core.Cursors.Delete(r.Context(), st.ID)
	}
	if err != nil {
		return err
	}
	a.core.Metrics.SubscriptionLag.DeleteLabelValues(r.PathValue("name"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// fetch handles GET /v1/subscriptions/{name}/events: the oldest
// unacknowledged events under a batch id; they stay pending until acked.
// With ack=<batch id> it first acknowledges that batch, the one the client
// is done with, in the same write as the next batch: a consumer's loop is
// one request per batch.
func (a *API) fetch(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	key := req.Key
	q := r.URL.Query()
	for name := range q {
		if name != "limit" && name != "wait" && name != "ack" {
			return badRequest("unknown query parameter %q", name)
		}
	}
	var change func(*cursor.State) error
	if acks, ok := q["ack"]; ok {
		if len(acks) != 1 || acks[0] == "" {
			return badRequest("ack takes one batch id")
		}
		change = cursor.AckBatch(acks[0])
		delete(q, "ack")
	}
	p, err := parseReadParams(q)
	if err != nil {
		return err
	}
	st, err := a.lookupRecent(r, key)
	if err != nil {
		return err
	}
	return a.parkFetch(w, r, st, p, change) // st as lookup found it
}

// parkFetch answers a fetch: at once without a wait or with a batch
// pending, else from a parked poll
// (deliver.ServePoll) on the position the fetch's acknowledgement leaves:
// the acknowledgement and the batch the wait brings are stored in one
// compare-and-set when it answers, or the acknowledgement alone once it
// has waited changeHold (Held), so other consumers and the console see
// it. A pending batch is answered at once.
func (a *API) parkFetch(w http.ResponseWriter, r *http.Request, st cursor.State, p readParams, change func(*cursor.State) error) error {
	// A change refused on st (a remembered state, maybe stale) goes to
	// Poll, which confirms an error with a read before it answers.
	next, perr := cursor.Preview(st, change)
	wait := p.wait
	if exp := st.ExpiresAt(); !exp.IsZero() {
		// Answered (and so stored as active) before it would idle out.
		wait = min(wait, max(time.Until(exp)-keepAliveMargin, 0))
	}
	if perr != nil || next.Batch != nil || wait <= 0 {
		b, err := a.core.Cursors.Poll(r.Context(), st, cursor.PollRequest{Max: p.limit, Change: change})
		if err != nil {
			return err
		}
		a.writeBatch(w, b)
		return nil
	}
	pf := &parkedFetch{a: a, fail: a.guard.FailLater(r), st: st, change: change, limit: p.limit,
		brought: cursor.Brought{After: next.Acked, Filter: next.Filter}}
	spec := deliver.Poll{
		Transport: "subscription", Sub: a.core.Hub.Subscribe(next.Acked, next.Filter), Max: p.limit, Wait: wait,
		Answer: pf.answer,
	}
	if change != nil {
		spec.Hold, spec.Held = changeHold, pf.held
	}
	a.core.Deliver.ServePoll(w, r, spec)
	return nil
}

// parkedFetch is what a parked fetch keeps while it waits, in one struct
// (its closures each kept their own variables). Its answer and held poll
// in turn, each from the state the other left: mu orders them, st and
// change are theirs.
type parkedFetch struct {
	a      *API
	fail   func(http.ResponseWriter, error)
	limit  int
	mu     sync.Mutex
	st     cursor.State
	change func(*cursor.State) error
	// brought is where the wait started (the position the fetch's
	// acknowledgement leaves, and its filter); the answer adds its events.
	brought cursor.Brought
}

// poll stores the change the fetch carries, if not stored yet, with the
// batch it forms.
func (pf *parkedFetch) poll(waited bool, brought *cursor.Brought) (cursor.Fetched, error) {
	a := pf.a
	// Not ended by the server's shutdown, which waits for the polls: each
	// engine call bounds itself (a compare-and-set without a deadline
	// shares one, with no timer of its own).
	store := context.WithoutCancel(a.core.Shutdown)
	b, err := a.core.Cursors.Poll(store, pf.st, cursor.PollRequest{Max: pf.limit, Change: pf.change, Waited: waited, Brought: brought})
	if err == nil {
		pf.st, pf.change = b.State, nil
	}
	return b, err
}

// answer is the parked fetch's deliver.Poll Answer: the batch is formed of
// what the wait brought, unless the subscription changed meanwhile (Poll
// checks).
func (pf *parkedFetch) answer(w http.ResponseWriter, evs []*hub.Event, err error) {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	if err != nil {
		pf.fail(w, err)
		return
	}
	pf.brought.Events = evs
	b, err := pf.poll(true, &pf.brought)
	if err != nil {
		pf.fail(w, err)
		return
	}
	pf.a.writeBatch(w, b)
}

// held is the parked fetch's deliver.Poll Held: the acknowledgement is
// stored alone once it has waited changeHold.
func (pf *parkedFetch) held() {
	pf.mu.Lock()
	defer pf.mu.Unlock()
	if pf.change != nil {
		pf.poll(false, nil) // an error leaves the change for the answer to store
	}
}

// Bounds of a parked fetch: how long an acknowledgement waits to be
// stored with the next batch (cursor's own hold), and how far before its
// idle expiry a subscription's wait ends.
const (
	changeHold      = time.Second
	keepAliveMargin = 5 * time.Second
)

// writeBatch writes a fetch's answer: the batch id and its events' shared
// JSON.
func (a *API) writeBatch(w http.ResponseWriter, b cursor.Fetched) {
	wires := make([][]byte, len(b.Events))
	n := 64 + len(b.BatchID)
	for i := range b.Events {
		wires[i] = a.core.Hub.Wire(&b.Events[i], a.jsonFmt) // encoded once per process
		n += len(wires[i]) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, `{"batch":`...)
	if b.BatchID == "" {
		out = append(out, "null"...)
	} else {
		out = appendString(out, b.BatchID)
	}
	out = append(out, `,"events":[`...)
	for i, wire := range wires {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, wire...)
	}
	out = append(out, "]}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Write(out)
	a.core.Metrics.EventsDelivered.WithLabelValues("subscription").Add(float64(len(b.Events)))
}

type ackRequest struct {
	Batch string  `json:"batch"`
	UpTo  *uint64 `json:"upto"`
}

// ack handles POST /v1/subscriptions/{name}/ack with a batch id or upto.
func (a *API) ack(w http.ResponseWriter, r *http.Request, rq *dialect.Request) error {
	key := rq.Key
	var req ackRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		return err
	}
	if (req.Batch == "") == (req.UpTo == nil) {
		return badRequest(`give exactly one of "batch" or "upto"`)
	}
	st, err := a.lookupRecent(r, key)
	if err != nil {
		return err
	}
	if req.UpTo != nil {
		// An ack past the log's end would move the position over events
		// not yet published, silently losing them.
		if err := a.core.CheckPosition(r.Context(), *req.UpTo); err != nil {
			return err
		}
		st, err = a.core.Cursors.AckUpToFrom(r.Context(), st, *req.UpTo)
	} else {
		st, err = a.core.Cursors.AckFrom(r.Context(), st, req.Batch)
	}
	if err != nil {
		return err
	}
	dialect.WriteJSON(w, http.StatusOK, a.view(r, st))
	return nil
}
