package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// subMode is herald's durable subscriptions: each subscriber is one
// subscription of the run's key (PUT /v1/subscriptions/{name}), read with
// GET …/events?wait= and acknowledged batch by batch (POST …/ack), as a
// worker that must not lose an event reads it. Publishers are native.
type subMode struct {
	*env
	mu    sync.Mutex
	names []string // made, for cleanup
}

func (m *subMode) prepare(context.Context, int, int) error { return nil }

func (m *subMode) subscribe(ctx context.Context, i int, local net.Addr) (receiver, error) {
	name := fmt.Sprintf("bench-%s-%d", m.runID, i)
	r, err := dialSubscription(ctx, m.env, name, local)
	if err == nil {
		m.mu.Lock()
		m.names = append(m.names, name)
		m.mu.Unlock()
	}
	return r, err
}

func (m *subMode) publisher(int) pubTemplate { return nativePublish(m.env, m.cfg.Topic) }

func (m *subMode) cleanup(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var first error
	for _, n := range m.names {
		if err := m.adminCall(ctx, http.MethodDelete, "/v1/subscriptions/"+url.PathEscape(n), nil, nil); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// subscription is one durable subscription, read over one kept-alive
// connection: each batch is acknowledged before the next is asked for.
type subscription struct {
	c            *httpConn
	header       string
	fetch, ackTo []byte // request targets
	ack          []byte // the ack body, reused
}

// dialSubscription creates the subscription from now on: every event
// published afterwards is pending for it.
func dialSubscription(ctx context.Context, e *env, name string, local net.Addr) (*subscription, error) {
	c, err := dialHTTP(ctx, e.base, local)
	if err != nil {
		return nil, err
	}
	path := "/v1/subscriptions/" + url.PathEscape(name)
	s := &subscription{
		c:      c,
		header: "Authorization: Bearer " + e.cfg.Key + "\r\n",
		fetch:  []byte(e.url(path+"/events", "limit=1000&wait="+pollWait).RequestURI()),
		ackTo:  []byte(e.url(path+"/ack", "").RequestURI()),
	}
	body, _ := json.Marshal(map[string][]string{"topics": {e.cfg.Topic}})
	c.conn.SetDeadline(time.Now().Add(connectTimeout))
	if _, _, err := expect(c, "PUT", []byte(e.url(path, "").RequestURI()), s.header+"Content-Type: application/json\r\n",
		body, http.StatusCreated, path); err != nil {
		c.close()
		return nil, err
	}
	c.conn.SetDeadline(time.Time{})
	return s, nil
}

func (s *subscription) run(acc *account) error {
	for {
		body, closed, err := getPoll(s.c, s.fetch, s.header, "/v1/subscriptions/…/events")
		if err != nil {
			return err
		}
		acc.scan(body)
		if batch, ok := jsonStringAt(body, 1, "batch"); ok {
			s.ack = append(append(append(s.ack[:0], `{"batch":"`...), batch...), `"}`...)
			_, ackClosed, err := expect(s.c, "POST", s.ackTo, s.header+"Content-Type: application/json\r\n", s.ack,
				http.StatusOK, "/v1/subscriptions/…/ack")
			if err != nil {
				return err
			}
			closed = closed || ackClosed
		}
		if closed {
			return errors.New("subscription: the server closed the connection")
		}
	}
}

func (s *subscription) close() { s.c.close() }
