package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// subMode is herald's durable subscriptions as workers read them: each
// subscriber has a key of its own (made through the admin endpoint, allowed
// to read the run's topic) and one subscription of it (PUT
// /v1/subscriptions/{name}), read with GET …/events?wait= that
// acknowledges the previous batch (ack=), as a worker that must not lose
// an event reads it. Publishers are native, with the run's key.
type subMode struct {
	*env
	keys []subKey
}

type subKey struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

func (m *subMode) name(i int) string { return fmt.Sprintf("bench-%s-%d", m.runID, i) }

func (m *subMode) prepare(ctx context.Context, n, _ int) error {
	m.keys = make([]subKey, n)
	return setupEach(ctx, n, func(i int) error {
		req := map[string]any{"name": m.name(i), "subscribe": []string{m.cfg.Topic}}
		if err := m.adminCall(ctx, http.MethodPost, "/v1/keys", req, &m.keys[i]); err != nil {
			return fmt.Errorf("add key: %w", err)
		}
		return nil
	})
}

func (m *subMode) subscribe(ctx context.Context, i int, local net.Addr) (receiver, error) {
	return dialSubscription(ctx, m.env, m.keys[i].Token, m.name(i), local)
}

func (m *subMode) publisher(int) pubTemplate { return nativePublish(m.env, m.cfg.Topic) }

// cleanup deletes each subscription with its own key (an admin key would
// have to find it among all), then the key.
func (m *subMode) cleanup(ctx context.Context) error {
	return setupEach(ctx, len(m.keys), func(i int) error {
		k := m.keys[i]
		if k.ID == "" {
			return nil // never made
		}
		var se *statusError
		err := m.call(ctx, http.MethodDelete, "/v1/subscriptions/"+url.PathEscape(m.name(i)),
			http.Header{"Authorization": {"Bearer " + k.Token}}, nil, nil)
		if errors.As(err, &se) && se.status == http.StatusNotFound {
			err = nil // never subscribed
		}
		if kerr := m.adminCall(ctx, http.MethodDelete, "/v1/keys/"+url.PathEscape(k.ID), nil, nil); err == nil {
			err = kerr
		}
		return err
	})
}

// subscription is the dialect of a durable subscription read in a
// consumer's loop: each request acknowledges the batch the previous one
// handed out and fetches the next (GET …/events?ack=), one request per
// batch, as the API offers it.
type subscription struct {
	fetch     []byte // the request target without an ack
	ackPrefix []byte // the request target up to the ack's value
}

// dialSubscription creates the subscription from now on (every event
// published afterwards is pending for it) and sends its first fetch: once
// it returns, the subscription waits on the server, as a consumer's does,
// and run reads the answer.
func dialSubscription(ctx context.Context, e *env, token, name string, local net.Addr) (*pollReceiver, error) {
	c, err := dialHTTP(ctx, e.base, local)
	if err != nil {
		return nil, err
	}
	path := "/v1/subscriptions/" + url.PathEscape(name)
	fetch := e.url(path+"/events", "limit=1000&wait="+pollWait).RequestURI()
	d := &subscription{fetch: []byte(fetch), ackPrefix: []byte(fetch + "&ack=")}
	header := "Authorization: Bearer " + token + "\r\n"
	body, _ := json.Marshal(map[string][]string{"topics": {e.cfg.Topic}})
	c.conn.SetDeadline(time.Now().Add(connectTimeout))
	_, _, err = expect(c, "PUT", []byte(e.url(path, "").RequestURI()), header+"Content-Type: application/json\r\n",
		body, http.StatusCreated, path)
	r, p := newPollReceiver(c, e.reactors, d, "/v1/subscriptions/…/events", header)
	if err == nil {
		_, err = c.conn.Write(p.start(d.fetch))
	}
	if err != nil {
		c.close()
		return nil, err
	}
	c.conn.SetDeadline(time.Time{})
	return r, nil
}

func (s *subscription) next(target, body []byte) ([]byte, error) {
	if batch, ok := jsonStringAt(body, 1, "batch"); ok {
		return appendQueryValue(append(target, s.ackPrefix...), batch), nil
	}
	return append(target, s.fetch...), nil
}

// appendQueryValue appends v to b escaped as a query value; a batch id
// (a UUID) needs no escaping, and is appended without allocating.
func appendQueryValue(b, v []byte) []byte {
	for _, c := range v {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~') {
			return append(b, url.QueryEscape(string(v))...)
		}
	}
	return append(b, v...)
}
