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

// pollReceiver is a long-poll subscriber read as a stream is: a
// pollParser reads the answers off the connection, on a reactor where
// there are reactors, and sends each next poll.
type pollReceiver struct {
	streamReceiver
	parser *pollParser
	first  []byte // the first poll, which run sends; nil if dialing sent it
}

// newPollReceiver makes a receiver polling path (for errors) on c with
// header (whole lines) in dialect d.
func newPollReceiver(c *httpConn, reactors *reactorPool, d pollDialect, path, header string) (*pollReceiver, *pollParser) {
	r := &pollReceiver{streamReceiver: streamReceiver{c: c, reactors: reactors}}
	p := newPollParser(d, path, c.host, header, r.send, r.sendAfter)
	r.streamReceiver.parser, r.parser = p, p
	return r, p
}

func (r *pollReceiver) run(acc *account) error {
	r.parser.acc = acc // before the reactor has the parser: run's handoff orders it
	if r.first != nil {
		if err := r.send(r.first); err != nil {
			return err
		}
	}
	return r.streamReceiver.run(acc)
}

// nativePoll is the native long-poll's dialect: GET /v1/events with the
// position the previous answer ended at, over one kept-alive connection.
type nativePoll struct {
	prefix []byte // the request target up to the after= value
}

// dialNativePoll connects and asks once without waiting where "now" is:
// every event after that position reaches this subscriber.
func dialNativePoll(ctx context.Context, e *env, local net.Addr) (*pollReceiver, error) {
	c, err := dialHTTP(ctx, e.base, local)
	if err != nil {
		return nil, err
	}
	topics := "topics=" + url.QueryEscape(e.cfg.Topic)
	header := "Authorization: Bearer " + e.cfg.Key + "\r\n"
	d := &nativePoll{prefix: []byte(e.url("/v1/events", topics+"&limit=1000&wait="+pollWait+"&after=").RequestURI())}
	c.conn.SetDeadline(time.Now().Add(connectTimeout))
	h, body, err := c.roundTrip("GET", []byte(e.url("/v1/events", topics+"&wait=0").RequestURI()), header, nil)
	if err == nil && h.status != 200 {
		err = &statusError{method: "GET", path: "/v1/events", status: h.status, body: body}
	}
	var target []byte
	if err == nil {
		target, err = d.next(nil, body)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	c.conn.SetDeadline(time.Time{})
	r, p := newPollReceiver(c, e.reactors, d, "/v1/events", header)
	r.first = p.start(target)
	return r, nil
}

func (d *nativePoll) next(target, body []byte) ([]byte, error) {
	after, ok := jsonNumberAt(body, 1, "next")
	if !ok {
		return nil, errors.New("no next position in the answer")
	}
	return strconv.AppendUint(append(target, d.prefix...), after, 10), nil
}

// getPoll sends one GET for path, coming back after a 429 or 503 as the
// server asks, and returns the body of its 200 answer; closed says the
// server closes the connection after it.
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
