package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Start positions for SubscriptionSpec.Start; a decimal sequence number
// (see StartAt) starts at that event.
const (
	StartNew      = "new"      // only events appended after the subscription is created
	StartEarliest = "earliest" // every event still stored
)

// StartAt returns the SubscriptionSpec.Start value that starts a new
// subscription at event seq (inclusive).
func StartAt(seq uint64) string { return strconv.FormatUint(seq, 10) }

// SubscriptionSpec describes a durable pull subscription.
type SubscriptionSpec struct {
	// Topics are topic filters; none means every topic the key may read.
	Topics []string `json:"topics"`
	// Start applies only when the subscription is created: StartNew (the
	// default), StartEarliest or StartAt(seq). Changing an existing
	// subscription keeps its position.
	Start string `json:"start,omitempty"`
}

// Subscription is a durable pull subscription: a filter and a position
// kept by the server, with at most one pending batch.
type Subscription struct {
	Name   string   `json:"name"`
	Topics []string `json:"topics"`
	// Position is the sequence number up to which every event is acknowledged.
	Position uint64 `json:"position"`
	// Pending counts matching events after Position (counted up to 10,000).
	Pending int `json:"pending"`
	// Batch is the id of the batch handed out and not yet acknowledged, or "".
	Batch      string    `json:"-"`
	Owner      string    `json:"owner"`
	Created    time.Time `json:"created"`
	LastActive time.Time `json:"last_active"`
}

// subscriptionWire is Subscription as the server sends it: batch may be null.
type subscriptionWire struct {
	Subscription
	Batch *string `json:"batch"`
}

func (w subscriptionWire) value() Subscription {
	s := w.Subscription
	if w.Batch != nil {
		s.Batch = *w.Batch
	}
	return s
}

// Batch is what Fetch hands out: the oldest unacknowledged events under an
// id. The same batch is handed out again until it is acknowledged.
type Batch struct {
	ID     string // "" when no event was pending
	Events []Event
}

func subscriptionPath(name string) string {
	return "/v1/subscriptions/" + url.PathEscape(name)
}

// PutSubscription creates the subscription called name (letters, digits,
// '-' and '_') or, if the key already has it, changes its topics.
func (c *Client) PutSubscription(ctx context.Context, name string, spec SubscriptionSpec) (Subscription, error) {
	var out subscriptionWire
	if spec.Topics == nil {
		spec.Topics = []string{} // the server wants a list
	}
	if err := c.do(ctx, http.MethodPut, subscriptionPath(name), nil, spec, &out); err != nil {
		return Subscription{}, err
	}
	return out.value(), nil
}

// GetSubscription returns the subscription called name; ErrNotFound if the
// key has none of that name.
func (c *Client) GetSubscription(ctx context.Context, name string) (Subscription, error) {
	var out subscriptionWire
	if err := c.do(ctx, http.MethodGet, subscriptionPath(name), nil, nil, &out); err != nil {
		return Subscription{}, err
	}
	return out.value(), nil
}

// ListSubscriptions returns the key's subscriptions (every one, for an
// admin key).
func (c *Client) ListSubscriptions(ctx context.Context) ([]Subscription, error) {
	var out struct {
		Subscriptions []subscriptionWire `json:"subscriptions"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/subscriptions", nil, nil, &out); err != nil {
		return nil, err
	}
	subs := make([]Subscription, len(out.Subscriptions))
	for i, w := range out.Subscriptions {
		subs[i] = w.value()
	}
	return subs, nil
}

// DeleteSubscription deletes the subscription called name.
func (c *Client) DeleteSubscription(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, subscriptionPath(name), nil, nil, nil)
}

// Fetch returns the subscription's pending batch: up to limit (0: the
// server's default) of the oldest unacknowledged events. With none pending
// it waits up to wait for one, then returns an empty Batch. Events stay
// pending, and Fetch returns the same batch again, until Ack.
func (c *Client) Fetch(ctx context.Context, name string, limit int, wait time.Duration) (Batch, error) {
	return c.fetch(ctx, name, "", limit, wait)
}

// AckFetch acknowledges the batch with id batchID and returns the next
// pending batch as Fetch does, in one request (and one write on the
// server): a consumer's loop. Sent again after its answer was lost, it
// finds batchID acknowledged already and returns the same next batch. An
// id that is not the pending batch fails with ErrBatchNotPending.
func (c *Client) AckFetch(ctx context.Context, name, batchID string, limit int, wait time.Duration) (Batch, error) {
	if batchID == "" {
		return Batch{}, fmt.Errorf("herald: AckFetch needs a batch id; use Fetch")
	}
	return c.fetch(ctx, name, batchID, limit, wait)
}

func (c *Client) fetch(ctx context.Context, name, ack string, limit int, wait time.Duration) (Batch, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if wait > 0 {
		q.Set("wait", wait.String())
	}
	if ack != "" {
		q.Set("ack", ack)
	}
	var out struct {
		Batch  *string `json:"batch"`
		Events []Event `json:"events"`
	}
	if err := c.do(ctx, http.MethodGet, subscriptionPath(name)+"/events", q, nil, &out); err != nil {
		return Batch{}, err
	}
	b := Batch{Events: out.Events}
	if out.Batch != nil {
		b.ID = *out.Batch
	}
	return b, nil
}

// Ack acknowledges the batch with id batchID, so that Fetch moves on. An id
// that is not the pending batch fails with ErrBatchNotPending.
func (c *Client) Ack(ctx context.Context, name, batchID string) error {
	return c.do(ctx, http.MethodPost, subscriptionPath(name)+"/ack", nil,
		struct {
			Batch string `json:"batch"`
		}{batchID}, nil)
}

// AckUpTo acknowledges every event up to and including seq.
func (c *Client) AckUpTo(ctx context.Context, name string, seq uint64) error {
	return c.do(ctx, http.MethodPost, subscriptionPath(name)+"/ack", nil,
		struct {
			UpTo uint64 `json:"upto"`
		}{seq}, nil)
}
