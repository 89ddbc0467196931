package loadgen

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// zulipMode listens as Zulip clients do: each subscriber is its own Zulip
// user (made through the admin endpoint) with one event queue
// (POST /api/v1/register, narrowed to the run's stream), long-polled with
// GET /api/v1/events and last_event_id. One user per queue, as in Zulip,
// also keeps every poll within a user's rate limit. Publishers are Zulip
// users too and send stream messages (POST /api/v1/messages) whose content
// is the payload.
type zulipMode struct {
	*env
	subs, pubs []zulipUser
}

type zulipUser struct {
	Email  string `json:"email"`
	APIKey string `json:"api_key"`
}

// basic is the user's Authorization header value.
func (u zulipUser) basic() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Email+":"+u.APIKey))
}

func (m *zulipMode) stream() string { return m.cfg.Topic }

func (m *zulipMode) prepare(ctx context.Context, n, k int) error {
	err := m.adminCall(ctx, http.MethodPost, "/v1/zulip/streams", map[string]string{"name": m.stream()}, nil)
	var se *statusError
	if err != nil && !(errors.As(err, &se) && se.status == http.StatusConflict) { // 409: there already
		return fmt.Errorf("add stream: %w", err)
	}
	m.subs = make([]zulipUser, n)
	m.pubs = make([]zulipUser, k)
	return m.eachUser(ctx, func(u *zulipUser, email string) error {
		req := map[string]any{"email": email, "full_name": "bench " + email, "bot": true}
		if err := m.adminCall(ctx, http.MethodPost, "/v1/zulip/users", req, u); err != nil {
			return fmt.Errorf("add user: %w", err)
		}
		return nil
	})
}

// eachUser calls fn for every subscriber and publisher user, a few at a
// time, with the email the user has in this run.
func (m *zulipMode) eachUser(ctx context.Context, fn func(u *zulipUser, email string) error) error {
	return setupEach(ctx, len(m.subs)+len(m.pubs), func(i int) error {
		if i < len(m.subs) {
			return fn(&m.subs[i], fmt.Sprintf("bench-%s-s%d@herald-bench.invalid", m.runID, i))
		}
		i -= len(m.subs)
		return fn(&m.pubs[i], fmt.Sprintf("bench-%s-p%d@herald-bench.invalid", m.runID, i))
	})
}

func (m *zulipMode) subscribe(ctx context.Context, i int, local net.Addr) (receiver, error) {
	return dialZulipQueue(ctx, m.env, m.subs[i], m.stream(), local)
}

func (m *zulipMode) publisher(k int) pubTemplate {
	return pubTemplate{
		method: http.MethodPost, url: m.url("/api/v1/messages", "").String(),
		header: http.Header{
			"Authorization": {m.pubs[k].basic()},
			"Content-Type":  {"application/x-www-form-urlencoded"},
		},
		pre: []byte("type=stream&to=" + url.QueryEscape(m.stream()) + "&topic=bench&content="),
	}
}

func (m *zulipMode) cleanup(ctx context.Context) error {
	return m.eachUser(ctx, func(u *zulipUser, email string) error {
		if u.APIKey == "" {
			return nil // never made
		}
		return m.adminCall(ctx, http.MethodDelete, "/v1/zulip/users/"+url.PathEscape(email), nil, nil)
	})
}

// zulipQueue is the Zulip event queue's dialect: each poll, with
// last_event_id, acknowledges what the previous one delivered.
type zulipQueue struct {
	prefix []byte // the request target up to the last_event_id= value
	last   int64
}

// dialZulipQueue registers a queue for the stream's messages; run long-polls
// it over the same kept-alive connection.
func dialZulipQueue(ctx context.Context, e *env, u zulipUser, stream string, local net.Addr) (*pollReceiver, error) {
	c, err := dialHTTP(ctx, e.base, local)
	if err != nil {
		return nil, err
	}
	narrow, _ := json.Marshal([][]string{{"stream", stream}})
	form := url.Values{
		"event_types":         {`["message"]`},
		"narrow":              {string(narrow)},
		"apply_markdown":      {"false"},
		"queue_lifespan_secs": {"300"}, // gone soon after the run if left behind
	}
	header := "Authorization: " + u.basic() + "\r\n"
	c.conn.SetDeadline(time.Now().Add(connectTimeout))
	h, body, err := c.roundTrip("POST", []byte(e.url("/api/v1/register", "").RequestURI()),
		header+"Content-Type: application/x-www-form-urlencoded\r\n", []byte(form.Encode()))
	if err == nil && h.status != 200 {
		err = &statusError{method: "POST", path: "/api/v1/register", status: h.status, body: body}
	}
	var reg struct {
		QueueID string `json:"queue_id"`
	}
	if err == nil {
		if err = json.Unmarshal(body, &reg); err == nil && reg.QueueID == "" {
			err = errors.New("POST /api/v1/register: no queue_id")
		}
	}
	if err != nil {
		c.close()
		return nil, err
	}
	c.conn.SetDeadline(time.Time{})
	d := &zulipQueue{
		prefix: []byte(e.url("/api/v1/events", "queue_id="+url.QueryEscape(reg.QueueID)+"&last_event_id=").RequestURI()),
		last:   -1,
	}
	r, p := newPollReceiver(c, e.reactors, d, "/api/v1/events", header)
	r.first = p.start(d.target(nil))
	return r, nil
}

func (q *zulipQueue) next(target, body []byte) ([]byte, error) {
	// {"events":[{…,"id":N,…},…],…}: the events' own ids sit at depth 3; a
	// message's id, one level deeper, is not the queue's.
	if id, ok := jsonNumberAt(body, 3, "id"); ok {
		q.last = int64(id)
	}
	return q.target(target), nil
}

// target appends the poll's target, acknowledging q.last, to b.
func (q *zulipQueue) target(b []byte) []byte {
	return strconv.AppendInt(append(b, q.prefix...), q.last, 10)
}
