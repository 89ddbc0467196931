package loadgen

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"time"
)

// pollWait is how long one native long-poll may wait for an event.
const pollWait = "60s"

// nativePoll is a native long-poll subscriber: GET /v1/events with the
// position the previous answer ended at, over one kept-alive connection.
type nativePoll struct {
	c      *httpConn
	header string
	prefix []byte // the request target up to the after= value
	target []byte
	after  uint64
}

// dialNativePoll connects and asks once without waiting where "now" is:
// every event after that position reaches this subscriber.
func dialNativePoll(ctx context.Context, e *env, local net.Addr) (*nativePoll, error) {
	c, err := dialHTTP(ctx, e.base, local)
	if err != nil {
		return nil, err
	}
	topics := "topics=" + url.QueryEscape(e.cfg.Topic)
	p := &nativePoll{
		c:      c,
		header: "Authorization: Bearer " + e.cfg.Key + "\r\n",
		prefix: []byte(e.url("/v1/events", topics+"&limit=1000&wait="+pollWait+"&after=").RequestURI()),
	}
	c.conn.SetDeadline(time.Now().Add(connectTimeout))
	h, body, err := c.roundTrip("GET", []byte(e.url("/v1/events", topics+"&wait=0").RequestURI()), p.header, nil)
	if err == nil && h.status != 200 {
		err = &statusError{method: "GET", path: "/v1/events", status: h.status, body: body}
	}
	var ok bool
	if err == nil {
		if p.after, ok = jsonNumberAt(body, 1, "next"); !ok {
			err = errors.New("GET /v1/events: no next position in the answer")
		}
	}
	if err != nil {
		c.close()
		return nil, err
	}
	c.conn.SetDeadline(time.Time{})
	return p, nil
}

func (p *nativePoll) run(acc *account) error {
	for {
		p.target = strconv.AppendUint(append(p.target[:0], p.prefix...), p.after, 10)
		body, closed, err := getPoll(p.c, p.target, p.header, "/v1/events")
		if err != nil {
			return err
		}
		acc.scan(body)
		next, ok := jsonNumberAt(body, 1, "next")
		if !ok {
			return errors.New("GET /v1/events: no next position in the answer")
		}
		p.after = next
		if closed {
			return errors.New("GET /v1/events: the server closed the connection")
		}
	}
}

// getPoll sends one long-poll GET for path, coming back after a 429 or 503
// as the server asks, and returns the body of its 200 answer; closed says
// the server closes the connection after it.
func getPoll(c *httpConn, target []byte, header, path string) (body []byte, closed bool, err error) {
	for {
		h, body, err := c.roundTrip("GET", target, header, nil)
		if err != nil {
			return nil, false, err
		}
		if wait, again := retryable(h); again {
			time.Sleep(wait)
			continue
		}
		if h.status != 200 {
			return nil, false, &statusError{method: "GET", path: path, status: h.status, body: body}
		}
		return body, h.close, nil
	}
}

func (p *nativePoll) close() { p.c.close() }

// expect sends one request and reads its answer, which must have status
// want; closed says the server closes the connection after it.
func expect(c *httpConn, method string, target []byte, header string, body []byte, want int, path string) (answer []byte, closed bool, err error) {
	h, answer, err := c.roundTrip(method, target, header, body)
	if err == nil && h.status != want {
		err = &statusError{method: method, path: path, status: h.status, body: answer}
	}
	return answer, h.close, err
}

// retryable reports whether an answer asks to come back later (rate limit,
// unavailable) and after how long.
func retryable(h respHead) (time.Duration, bool) {
	if h.status != 429 && h.status != 503 {
		return 0, false
	}
	return max(h.retryAfter, 50*time.Millisecond), true
}
