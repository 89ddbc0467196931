// Package jetstream is the connector kind that puts herald in front of a
// Jetstream RFID account (Terso Solutions' events API, version 3): it is
// the one consumer of the account's subscription upstream, and each event
// it takes is stored once in the log under the topic the terso dialect
// serves, so any number of local Jetstream users each have their own
// subscription over the same events.
//
// The write order, and what a crash leaves:
//  1. GET /3/events/{limit}: the oldest pending batch upstream (it stays
//     pending there until deleted).
//  2. Append the batch's events, minus those up to the last one a previous
//     round stored (see 3); each event's herald id is its upstream EventId,
//     so the engine keeps an event appended twice within its dedupe window
//     once.
//  3. Store the position: the batch id and its last event id. A crash
//     before this re-reads the batch and appends it again (kept once by
//     step 2's ids within the dedupe window).
//  4. DELETE the batch upstream. A crash before this re-reads the batch;
//     the position names its last stored event, so nothing of it is
//     appended again, however long the connector was down.
package jetstream

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
	"time"

	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/dialect/terso"
	"github.com/herald-io/herald/internal/eventlog"
)

// Kind is the "jetstream" kind.
type Kind struct {
	// Poll is the pause before asking again an upstream that had less than
	// a full batch (default DefaultPoll).
	Poll time.Duration
	// Limit is the batch size asked for (default terso.DefaultLimit).
	Limit int
}

// DefaultPoll is how often an idle upstream is asked for events.
const DefaultPoll = time.Second

const (
	maxBatchBody   = 16 << 20 // one upstream answer: 512 events of a few KiB
	requestTimeout = 30 * time.Second
)

var _ connector.Kind = (*Kind)(nil)

// Check wants an access key.
func (k *Kind) Check(spec connector.Spec) error {
	if strings.TrimSpace(spec.Key) == "" {
		return errors.New("key: the Jetstream access key is required")
	}
	return nil
}

// position is what the connector stores upstream progress as.
type position struct {
	Batch string `json:"batch"`
	Last  string `json:"last"` // EventId of the batch's last event, as sent
}

// upstreamBatch is the Get Events answer.
type upstreamBatch struct {
	BatchID string            `json:"BatchId"`
	Events  []json.RawMessage `json:"Events"`
}

// Run takes batches until ctx ends; see the package doc for the order.
func (k *Kind) Run(ctx context.Context, env connector.Env) error {
	poll, limit := k.Poll, k.Limit
	if poll <= 0 {
		poll = DefaultPoll
	}
	if limit <= 0 || limit > terso.MaxLimit {
		limit = terso.DefaultLimit
	}
	c := &conn{env: env, base: strings.TrimRight(env.Spec.URL, "/"), limit: limit}
	if s, err := env.Positions.Load(ctx); err != nil {
		return err
	} else if s != "" {
		if err := json.Unmarshal([]byte(s), &c.pos); err != nil {
			env.Logger.Warn("jetstream connector: stored position unreadable; starting without it", "err", err)
		}
	}
	return connector.Retry(ctx, env.Report, &connector.Backoff{}, func(ctx context.Context, up func()) error {
		connected := false
		for {
			b, err := c.get(ctx)
			if err != nil {
				return err
			}
			if !connected {
				connected = true
				up()
			}
			if len(b.Events) > 0 {
				if err := c.take(ctx, b); err != nil {
					return err
				}
			}
			if len(b.Events) >= limit {
				continue // more may be waiting
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(poll):
			}
		}
	})
}

// conn is one connector's upstream; Run's goroutine owns it.
type conn struct {
	env   connector.Env
	base  string
	limit int
	pos   position
}

// call sends one request and decodes its JSON answer into out (if not
// nil); an answer that is not a success is an *connector.UpstreamError.
func (c *conn) call(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("AccessKey", c.env.Spec.Key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.env.HTTP.Do(req)
	if err != nil {
		return err
	}
	if err := connector.CheckResponse(resp); err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBatchBody)).Decode(out); err != nil {
		return fmt.Errorf("jetstream upstream: %s %s: unreadable answer: %w", method, path, err)
	}
	return nil
}

// get reads the oldest pending batch.
func (c *conn) get(ctx context.Context) (upstreamBatch, error) {
	var b upstreamBatch
	err := c.call(ctx, "GET", "/3/events/"+strconv.Itoa(c.limit), nil, &b)
	return b, err
}

// take stores a batch and deletes it upstream.
func (c *conn) take(ctx context.Context, b upstreamBatch) error {
	events := b.Events
	// Events up to the last one stored are in the log already (a batch
	// re-read after a crash, or formed again with more events).
	for i, data := range events {
		if c.pos.Last != "" && eventID(data) == c.pos.Last {
			events = events[i+1:]
			break
		}
	}
	drafts := make([]eventlog.Draft, 0, len(events))
	var newest time.Time
	for _, data := range events {
		d, err := terso.DraftOf(data)
		if err != nil {
			c.env.Logger.Warn("jetstream connector: upstream event skipped", "batch", b.BatchID, "err", err)
			continue
		}
		drafts = append(drafts, d)
		if t := eventTime(data); t.After(newest) {
			newest = t
		}
	}
	if len(drafts) > 0 {
		acks, err := c.env.Core.Append(ctx, terso.Dialect, drafts)
		if err != nil {
			return fmt.Errorf("jetstream connector: append: %w", err)
		}
		n := 0
		for _, a := range acks {
			if !a.Duplicate {
				n++
			}
		}
		c.env.Report.Ingested(n, newest)
	}
	next := position{Batch: b.BatchID, Last: eventID(b.Events[len(b.Events)-1])}
	pb, _ := json.Marshal(next)
	if err := c.env.Positions.Store(ctx, string(pb)); err != nil {
		return fmt.Errorf("jetstream connector: store position: %w", err)
	}
	c.pos = next
	body, _ := json.Marshal(struct {
		BatchID string `json:"BatchId"`
	}{b.BatchID})
	return c.call(ctx, "DELETE", "/3/events", body, nil)
}

// eventID is an event's EventId as sent ("" if it has none).
func eventID(data json.RawMessage) string {
	var h struct {
		EventID string `json:"EventId"`
	}
	_ = json.Unmarshal(data, &h)
	return h.EventID
}

// eventTime is an event's EventTime (zero if unreadable); upstream clocks
// are shown, never used for order.
func eventTime(data json.RawMessage) time.Time {
	var h struct {
		EventTime string `json:"EventTime"`
	}
	_ = json.Unmarshal(data, &h)
	t, _ := time.Parse(time.RFC3339, h.EventTime)
	return t
}
