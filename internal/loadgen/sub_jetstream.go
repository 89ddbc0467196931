package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultPullEvery is how often a Jetstream subscriber asks for events.
const DefaultPullEvery = time.Second

// jetstreamMode listens as Jetstream RFID applications do: each subscriber
// is a Jetstream user (made through the admin endpoint, scoped to the
// run's device) whose loop is the vendor's service base
// (tersosolutions/JetstreamServiceBase, on which applications are built):
// a timer fires every Config.PullEvery (its MessageCheckWindow), and each
// time one GET /3/events, then a DELETE of the batch if it held events.
// Jetstream has no long-poll, so latency is about half the window. Events
// are published through the native API (an admin key may publish on
// jetstream.*) as the device's ObjectEvents.
type jetstreamMode struct {
	*env
	users []jetstreamUser
}

type jetstreamUser struct {
	ID        string `json:"id"`
	AccessKey string `json:"access_key"`
}

// device is the run's device name: the topic, one token.
func (m *jetstreamMode) device() string { return strings.ReplaceAll(m.cfg.Topic, ".", "-") }

func (m *jetstreamMode) prepare(ctx context.Context, n, _ int) error {
	m.users = make([]jetstreamUser, n)
	return m.eachUser(ctx, func(i int, u *jetstreamUser) error {
		req := map[string]any{"name": fmt.Sprintf("bench-%s-%d", m.runID, i), "devices": []string{m.device()}}
		if err := m.adminCall(ctx, http.MethodPost, "/v1/jetstream/users", req, u); err != nil {
			return fmt.Errorf("add user: %w", err)
		}
		return nil
	})
}

// eachUser calls fn for every user, a few at a time.
func (m *jetstreamMode) eachUser(ctx context.Context, fn func(i int, u *jetstreamUser) error) error {
	return setupEach(ctx, len(m.users), func(i int) error { return fn(i, &m.users[i]) })
}

func (m *jetstreamMode) subscribe(ctx context.Context, i int, local net.Addr) (receiver, error) {
	return dialJetstream(ctx, m.env, m.users[i], local)
}

func (m *jetstreamMode) publisher(int) pubTemplate {
	return nativePublish(m.env, "jetstream."+m.device()+".objectevent")
}

func (m *jetstreamMode) cleanup(ctx context.Context) error {
	return m.eachUser(ctx, func(_ int, u *jetstreamUser) error {
		if u.ID == "" {
			return nil // never made
		}
		return m.adminCall(ctx, http.MethodDelete, "/v1/jetstream/users/"+url.PathEscape(u.ID), nil, nil)
	})
}

// jetstreamPuller is one user's SDK loop over one kept-alive connection.
type jetstreamPuller struct {
	c      *httpConn
	header string
	get    []byte // request targets
	del    []byte
	body   []byte // the delete body, reused
	every  time.Duration
	limit  int // Get Events' default limit: a batch this full is followed at once
	done   chan struct{}
	once   sync.Once
}

// dialJetstream subscribes the user: its first Get Events makes the
// subscription, from which on every event published is queued for it.
func dialJetstream(ctx context.Context, e *env, u jetstreamUser, local net.Addr) (*jetstreamPuller, error) {
	c, err := dialHTTP(ctx, e.base, local)
	if err != nil {
		return nil, err
	}
	p := &jetstreamPuller{
		c: c, header: "AccessKey: " + u.AccessKey + "\r\n",
		get: []byte(e.url("/3/events", "").RequestURI()), del: []byte(e.url("/3/events", "").RequestURI()),
		every: e.cfg.PullEvery, limit: jetstreamLimit, done: make(chan struct{}),
	}
	c.conn.SetDeadline(time.Now().Add(connectTimeout))
	if _, _, err := expect(c, "GET", p.get, p.header, nil, http.StatusOK, "/3/events"); err != nil {
		c.close()
		return nil, err
	}
	c.conn.SetDeadline(time.Time{})
	return p, nil
}

// jetstreamLimit is Get Events' default limit, the batch size the loop asks for.
const jetstreamLimit = 100

// run is the service base's loop: a Get on every tick of the window's
// timer, and a Delete of each batch that held events. Its services start
// independently, so each user's timer starts at a random point of the
// first window (all at once, the users would ask in one burst per
// window). A full batch is followed by the next at once, unlike the
// service base's (which waits for its next window): at more than a batch
// per window, that loop falls behind for good, and the run would measure
// the backlog instead of the server.
func (p *jetstreamPuller) run(acc *account) error {
	start := time.NewTimer(rand.N(p.every))
	defer start.Stop()
	select {
	case <-start.C:
	case <-p.done:
		return errors.New("closed")
	}
	tick := time.NewTicker(p.every)
	defer tick.Stop()
	return p.loop(acc, tick.C)
}

// loop pulls on each tick, and at once after a full batch.
func (p *jetstreamPuller) loop(acc *account, tick <-chan time.Time) error {
	for {
		n, err := p.pull(acc)
		if err != nil {
			return err
		}
		if n >= p.limit {
			continue
		}
		select {
		case <-tick:
		case <-p.done:
			return errors.New("closed")
		}
	}
}

// pull gets the pending batch and deletes it if it held events; it
// returns how many.
func (p *jetstreamPuller) pull(acc *account) (int, error) {
	body, closed, err := getPoll(p.c, p.get, p.header, "/3/events")
	if err != nil {
		return 0, err
	}
	acc.requests++
	acc.scan(body)
	n, _ := jsonNumberAt(body, 1, "Count")
	if id, ok := jsonStringAt(body, 1, "BatchId"); ok && n > 0 {
		acc.batches++
		p.body = append(append(append(p.body[:0], `{"BatchId":"`...), id...), `"}`...)
		_, delClosed, err := expect(p.c, "DELETE", p.del, p.header+"Content-Type: application/json\r\n", p.body,
			http.StatusNoContent, "/3/events")
		if err != nil {
			return 0, err
		}
		acc.requests++
		closed = closed || delClosed
	}
	if closed {
		return 0, errors.New("GET /3/events: the server closed the connection")
	}
	return int(n), nil
}

func (p *jetstreamPuller) close() {
	p.once.Do(func() { close(p.done) })
	p.c.close()
}
