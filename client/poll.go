package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PollOptions select what Poll reads.
type PollOptions struct {
	// Topics are topic filters such as "app.>" or "hue.*.button"; none
	// means every topic the key may read.
	Topics []string
	// After is the position to read after: the next value a previous
	// Poll returned, or 0 for the start of the log. Nil means "now": only
	// events appended from now on.
	After *uint64
	// Earliest reads from the oldest event still stored, whatever
	// retention removed (where After 0 fails once it removed anything);
	// it overrides After.
	Earliest bool
	// Limit is the most events to return (server default 100, at most 1000).
	Limit int
	// Wait makes Poll wait up to this long (at most 2 minutes) for a
	// matching event instead of answering at once with none.
	Wait time.Duration
}

// Poll reads matching events after a position. It returns them oldest
// first, with next: the position to pass as After to continue. An After
// older than the log's retention fails with an error matching
// ErrPositionExpired whose *APIError carries Earliest.
func (c *Client) Poll(ctx context.Context, opts PollOptions) (events []Event, next uint64, err error) {
	q := readQuery(opts.Topics, opts.After)
	if opts.Earliest {
		q.Set("after", "earliest")
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Wait > 0 {
		q.Set("wait", opts.Wait.String())
	}
	var out struct {
		Events []Event `json:"events"`
		Next   uint64  `json:"next"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/events", q, nil, &out); err != nil {
		return nil, 0, err
	}
	return out.Events, out.Next, nil
}

// readQuery encodes the topics and after parameters the reading endpoints share.
func readQuery(topics []string, after *uint64) url.Values {
	q := url.Values{}
	if len(topics) > 0 {
		q.Set("topics", strings.Join(topics, ","))
	}
	if after != nil {
		q.Set("after", strconv.FormatUint(*after, 10))
	}
	return q
}
