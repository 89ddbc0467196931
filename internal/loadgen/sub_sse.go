package loadgen

import (
	"context"
	"net"
	"net/url"
	"time"
)

// connectTimeout bounds opening one subscription.
const connectTimeout = 30 * time.Second

// dialSSE opens u as a Server-Sent Events stream, whose body one of
// reactors reads; header holds extra request header lines, each ending in
// CRLF.
func dialSSE(ctx context.Context, reactors *reactorPool, u *url.URL, local net.Addr, header string) (*streamReceiver, error) {
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
	return &streamReceiver{c: c, parser: newBodyParser(h), reactors: reactors}, nil
}

// answerError describes an unexpected answer, with the start of its body.
func answerError(c *httpConn, h respHead, method, path string) error {
	var body []byte
	if h.length >= 0 || h.chunked { // not a body that lasts until the connection closes
		body, _ = c.readBody(h)
	}
	return &statusError{method: method, path: path, status: h.status, body: body}
}
