package native

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/cursor"
	"github.com/herald-io/herald/internal/eventlog"
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
		Name: strings.TrimPrefix(st.ID, subscriptionNS), Topics: st.Filter, Position: st.Acked,
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

// lookup returns the key's subscription by the {name} path value. Another
// key's subscription is reported as absent, not forbidden: names don't leak.
func (a *API) lookup(r *http.Request, key *auth.Key) (cursor.State, error) {
	id := subscriptionNS + r.PathValue("name")
	st, err := a.core.Cursors.Get(r.Context(), id)
	if err != nil {
		return st, err
	}
	if st.Owner != key.ID && !key.Admin {
		return cursor.State{}, fmt.Errorf("subscription %s: %w", r.PathValue("name"), cursor.ErrNotFound)
	}
	return st, nil
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
		return fmt.Errorf("%w: reading body: %v", errBadRequest, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", errBadRequest, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the JSON value", errBadRequest)
	}
	return nil
}

// putSubscription handles PUT /v1/subscriptions/{name}: creates the
// subscription (201) or changes its topics (200), keeping its position.
func (a *API) putSubscription(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	name := r.PathValue("name")
	var req putRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		writeErr(w, err)
		return
	}
	f, err := topic.NewFilter(req.Topics)
	if err != nil {
		writeErr(w, err)
		return
	}
	if f, err = subscribeFilter(key, f, req.Topics != nil); err != nil {
		writeReadErr(w, err)
		return
	}
	if err := cursor.ValidID(name); err != nil || strings.Contains(name, ".") {
		writeError(w, http.StatusBadRequest, "bad_request", "subscription names use letters, digits, '-' and '_'")
		return
	}
	ctx := r.Context()
	if st, err := a.lookup(r, key); err == nil {
		st, err = a.core.Cursors.Modify(ctx, st.ID, func(c *cursor.State) { c.Filter = f })
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, a.view(r, st))
		return
	}
	after, err := a.startPosition(r, req.Start)
	if err != nil {
		writeErr(w, err)
		return
	}
	st, err := a.core.Cursors.Create(ctx, subscriptionNS+name, cursor.Spec{Filter: f, After: after, Owner: key.ID})
	if errors.Is(err, cursor.ErrExists) {
		writeError(w, http.StatusConflict, "exists", "subscription "+name+" belongs to another key")
		return
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, a.view(r, st))
}

func (a *API) startPosition(r *http.Request, start string) (uint64, error) {
	switch start {
	case "", "new":
		_, last, err := a.core.Log.Bounds(r.Context())
		return last, err
	case "earliest":
		first, _, err := a.core.Log.Bounds(r.Context())
		return max(first, 1) - 1, err
	}
	seq, err := strconv.ParseUint(start, 10, 64)
	if err != nil || seq == 0 {
		return 0, fmt.Errorf("%w: start must be \"new\", \"earliest\" or a sequence number ≥ 1, not %q", errBadRequest, start)
	}
	first, _, err := a.core.Log.Bounds(r.Context())
	if err != nil {
		return 0, err
	}
	if seq < first {
		return 0, &eventlog.ExpiredError{After: seq - 1, Earliest: first}
	}
	return seq - 1, nil
}

func (a *API) getSubscription(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	st, err := a.lookup(r, key)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.view(r, st))
}

func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	all, err := a.core.Cursors.List(r.Context(), subscriptionNS)
	if err != nil {
		writeErr(w, err)
		return
	}
	out := []subscriptionView{}
	for _, st := range all {
		if st.Owner == key.ID || key.Admin {
			out = append(out, a.view(r, st))
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Subscriptions []subscriptionView `json:"subscriptions"`
	}{out})
}

func (a *API) deleteSubscription(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	st, err := a.lookup(r, key)
	if err == nil {
		err = a.core.Cursors.Delete(r.Context(), st.ID)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	a.core.Metrics.SubscriptionLag.DeleteLabelValues(r.PathValue("name"))
	w.WriteHeader(http.StatusNoContent)
}

// fetch handles GET /v1/subscriptions/{name}/events: the oldest
// unacknowledged events under a batch id; they stay pending until acked.
func (a *API) fetch(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	q := r.URL.Query()
	for name := range q {
		if name != "limit" && name != "wait" && name != "access_token" {
			writeError(w, http.StatusBadRequest, "bad_request", "unknown query parameter "+strconv.Quote(name))
			return
		}
	}
	p, err := parseReadParams(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	st, err := a.lookup(r, key)
	if err != nil {
		writeErr(w, err)
		return
	}
	ctx, cancel := a.waitContext(r, 0)
	defer cancel()
	b, err := a.core.Cursors.Fetch(ctx, st.ID, p.limit, p.wait)
	if err != nil && (ctx.Err() == nil || r.Context().Err() != nil) {
		writeErr(w, err)
		return
	}
	out := make([]byte, 0, 64+len(b.Events)*256)
	out = append(out, `{"batch":`...)
	if b.BatchID == "" {
		out = append(out, "null"...)
	} else {
		out = appendString(out, b.BatchID)
	}
	out = append(out, `,"events":[`...)
	for i := range b.Events {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendEvent(out, &b.Events[i])
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
func (a *API) ack(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	var req ackRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		writeErr(w, err)
		return
	}
	if (req.Batch == "") == (req.UpTo == nil) {
		writeError(w, http.StatusBadRequest, "bad_request", `give exactly one of "batch" or "upto"`)
		return
	}
	st, err := a.lookup(r, key)
	if err != nil {
		writeErr(w, err)
		return
	}
	if req.UpTo != nil {
		st, err = a.core.Cursors.AckUpTo(r.Context(), st.ID, *req.UpTo)
	} else {
		st, err = a.core.Cursors.Ack(r.Context(), st.ID, req.Batch)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.view(r, st))
}
