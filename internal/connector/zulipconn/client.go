package zulipconn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/connector"
	zulipdialect "github.com/herald-io/herald/internal/dialect/zulip"
)

// client speaks Zulip's API to the upstream as the connector's identity.
type client struct {
	http        *http.Client
	base        string // the site, without a trailing slash
	email, key  string
	maxAnswer   int64
	callTimeout time.Duration
}

// errBadQueue is the upstream's BAD_EVENT_QUEUE_ID: the queue is gone
// (expired, deleted, or lost in a restart).
var errBadQueue = errors.New("the upstream lost the event queue (BAD_EVENT_QUEUE_ID)")

// ErrBadAnswer is an upstream answer that is not what Zulip sends.
var ErrBadAnswer = errors.New("zulip upstream: unexpected answer")

// answer is what a call decodes a successful answer into.
type answer interface{ parse(b []byte) error }

// call makes one request (form in the body for POST, in the query for GET)
// and decodes a successful answer into out.
func (c *client) call(ctx context.Context, method, path string, form url.Values, out answer) error {
	u := c.base + path
	var body io.Reader
	if method == http.MethodGet {
		if len(form) > 0 {
			u += "?" + form.Encode()
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.email, c.key)
	req.Header.Set("User-Agent", "herald-connector")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("zulip upstream: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxAnswer+1))
	if err != nil {
		return fmt.Errorf("zulip upstream: read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct{ Code string }
		if json.Unmarshal(b, &e) == nil && e.Code == "BAD_EVENT_QUEUE_ID" {
			return errBadQueue
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return connector.CheckResponse(resp)
	}
	if int64(len(b)) > c.maxAnswer {
		return fmt.Errorf("%w: over %d bytes", ErrBadAnswer, c.maxAnswer)
	}
	var res struct{ Result string }
	if err := json.Unmarshal(b, &res); err != nil || res.Result != "success" {
		return fmt.Errorf("%w: %.100q", ErrBadAnswer, b)
	}
	return out.parse(b)
}

// me is GET /users/me's answer: who the connector's credential is.
type me struct{ zulipdialect.Identity }

func (m *me) parse(b []byte) error {
	var v struct {
		UserID   int64  `json:"user_id"`
		Email    string `json:"email"`
		FullName string `json:"full_name"`
		IsBot    bool   `json:"is_bot"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.UserID <= 0 {
		return fmt.Errorf("%w: /users/me without a user_id", ErrBadAnswer)
	}
	m.Identity = zulipdialect.Identity{UserID: v.UserID, Email: v.Email, FullName: v.FullName, Bot: v.IsBot}
	return nil
}

// registered is POST /register's answer.
type registered struct {
	QueueID     string
	LastEventID int64
	Longpoll    time.Duration
}

func (r *registered) parse(b []byte) error {
	var v struct {
		QueueID     string `json:"queue_id"`
		LastEventID *int64 `json:"last_event_id"`
		Longpoll    int64  `json:"event_queue_longpoll_timeout_seconds"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.QueueID == "" || v.LastEventID == nil {
		return fmt.Errorf("%w: register without queue_id and last_event_id", ErrBadAnswer)
	}
	r.QueueID, r.LastEventID = v.QueueID, *v.LastEventID
	if v.Longpoll > 0 && v.Longpoll < 3600 {
		r.Longpoll = time.Duration(v.Longpoll) * time.Second
	}
	return nil
}

// Event is one event of an upstream queue: its id, its type and its bytes
// as the upstream sent them.
type Event struct {
	ID   int64
	Type string
	Raw  json.RawMessage
}

// batch is GET /events' answer.
type batch struct{ events []Event }

func (bt *batch) parse(b []byte) error {
	evs, err := ParseEvents(b)
	bt.events = evs
	return err
}

// ParseEvents reads a successful GET /events answer. Every event must have
// an integer id (the queue's position depends on it); its type may be
// anything, and is judged when it is stored.
func ParseEvents(b []byte) ([]Event, error) {
	var v struct {
		Result string            `json:"result"`
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Result != "success" || v.Events == nil {
		return nil, fmt.Errorf("%w: not a list of events", ErrBadAnswer)
	}
	out := make([]Event, 0, len(v.Events))
	for i, raw := range v.Events {
		var h struct {
			ID   *int64 `json:"id"`
			Type any    `json:"type"`
		}
		if err := json.Unmarshal(raw, &h); err != nil || h.ID == nil {
			return nil, fmt.Errorf("%w: event %d has no id", ErrBadAnswer, i)
		}
		typ, _ := h.Type.(string)
		out = append(out, Event{ID: *h.ID, Type: typ, Raw: raw})
	}
	return out, nil
}

// usersMe asks the upstream who the credential is.
func (c *client) usersMe(ctx context.Context) (zulipdialect.Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	var m me
	err := c.call(ctx, http.MethodGet, "/api/v1/users/me", nil, &m)
	return m.Identity, err
}

// capabilities are the event formats the connector's queue asks for: the
// newest ones, which herald stores for every client (see the README).
const capabilities = `{"notification_settings_null":true,"bulk_message_deletion":true,` +
	`"user_avatar_url_field_optional":false,"stream_typing_notifications":true,"user_settings_object":true}`

// register makes the connector's queue upstream: every event type, message
// contents as Markdown (herald renders them for the clients that want
// HTML, and never stores HTML it did not make), no initial state.
func (c *client) register(ctx context.Context) (registered, error) {
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	defer cancel()
	var r registered
	err := c.call(ctx, http.MethodPost, "/api/v1/register", url.Values{
		"apply_markdown": {"false"}, "client_gravatar": {"false"}, "fetch_event_types": {"[]"},
		"client_capabilities": {capabilities},
	}, &r)
	return r, err
}

// events long-polls the queue for what follows last; with dontBlock it
// answers at once (so a connection shows it works before a heartbeat's
// wait).
func (c *client) events(ctx context.Context, queueID string, last int64, longpoll time.Duration, dontBlock bool) ([]Event, error) {
	ctx, cancel := context.WithTimeout(ctx, longpoll+pollMargin)
	defer cancel()
	var bt batch
	err := c.call(ctx, http.MethodGet, "/api/v1/events", url.Values{
		"queue_id": {queueID}, "last_event_id": {strconv.FormatInt(last, 10)},
		"dont_block": {strconv.FormatBool(dontBlock)},
	}, &bt)
	return bt.events, err
}
