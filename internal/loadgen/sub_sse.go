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
	c, h, err := openStream(ctx, u, local, "Accept: text/event-stream\r\n"+header, 200)
	if err != nil {
		return nil, err
	}
	c.conn.SetDeadline(time.Time{})
	return &streamReceiver{c: c, parser: newBodyParser(h), reactors: reactors}, nil
}

// openStream sends GET u with header (whole lines) and reads the answer's
// head, all within connectTimeout (the deadline stays set). An answer
// other than want is reported with the start of its body.
func openStream(ctx context.Context, u *url.URL, local net.Addr, header string, want int) (*httpConn, respHead, error) {
	c, err := dialHTTP(ctx, u, local)
	if err != nil {
		return nil, respHead{}, err
	}
	c.conn.SetDeadline(time.Now().Add(connectTimeout))
	if err := c.send("GET", []byte(u.RequestURI()), header, nil); err != nil {
		c.close()
		return nil, respHead{}, err
	}
	h, err := c.readHead()
	if err != nil {
		c.close()
		return nil, h, err
	}
	if h.status != want {
		err := answerError(c, h, "GET", u.Path)
		c.close()
		return nil, h, err
	}
	return c, h, nil
}

// answerError describes an unexpected answer, with the start of its body.
func answerError(c *httpConn, h respHead, method, path string) error {
	var body []byte
	if h.length >= 0 || h.chunked { // not a body that lasts until the connection closes
		body, _ = c.readBody(h)
	}
	return &statusError{method: method, path: path, status: h.status, body: body}
}
