package loadgen

import (
	"context"
	"errors"
	"net"
	"net/url"
	"time"
)

// connectTimeout bounds opening one subscription.
const connectTimeout = 30 * time.Second

// sseReceiver is one Server-Sent Events stream read straight off its
// connection. It does not parse the events: the account finds the tokens
// in the bytes, wherever the server put the payload, so the same receiver
// serves herald's native and Hue streams and any other server's. Once the
// answer's head is read, one of the reactors reads the body where there
// is one (Linux); elsewhere run reads it (see follow).
type sseReceiver struct {
	c        *httpConn
	head     respHead
	reactors *reactorPool
	handoff  sseHandoff
}

// dialSSE opens u as an event stream, whose body one of reactors reads;
// header holds extra request header lines, each ending in CRLF.
func dialSSE(ctx context.Context, reactors *reactorPool, u *url.URL, local net.Addr, header string) (*sseReceiver, error) {
	c, err := dialHTTP(ctx, u, local)
	if err != nil {
		return nil, err
	}
	c.conn.SetDeadline(time.Now().Add(connectTimeout))
	if err := c.send("GET", []byte(u.RequestURI()), "Accept: text/event-stream\r\n"+header, nil); err != nil {
		c.close()
		return nil, err
	}
	h, err := c.readHead()
	if err != nil {
		c.close()
		return nil, err
	}
	if h.status != 200 {
		err := answerError(c, h, "GET", u.Path)
		c.close()
		return nil, err
	}
	c.conn.SetDeadline(time.Time{})
	return &sseReceiver{c: c, head: h, reactors: reactors}, nil
}

func (s *sseReceiver) run(acc *account) error {
	err := s.follow(acc)
	if err == nil {
		err = errors.New("the stream ended")
	}
	return err
}

func (s *sseReceiver) close() { s.stop() }

// answerError describes an unexpected answer, with the start of its body.
func answerError(c *httpConn, h respHead, method, path string) error {
	var body []byte
	if h.length >= 0 || h.chunked { // not a body that lasts until the connection closes
		body, _ = c.readBody(h)
	}
	return &statusError{method: method, path: path, status: h.status, body: body}
}
