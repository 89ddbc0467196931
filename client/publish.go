package client

import (
	"context"
	"fmt"
	"net/http"
)

// Publish appends drafts to the log, in order, in one request (at most
// MaxPublish events and 1 MiB), and returns one Ack per draft once the
// server has stored them durably. With no drafts it does nothing.
//
// If Publish fails without an answer (a network error, a timeout), the
// events may or may not have been stored; retrying is safe when every
// draft has an ID.
func (c *Client) Publish(ctx context.Context, drafts ...Draft) ([]Ack, error) {
	if len(drafts) == 0 {
		return nil, nil
	}
	var out struct {
		Events []Ack `json:"events"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/events", nil, drafts, &out); err != nil {
		return nil, err
	}
	if len(out.Events) != len(drafts) {
		return out.Events, fmt.Errorf("publish: %d acks for %d events", len(out.Events), len(drafts))
	}
	return out.Events, nil
}
