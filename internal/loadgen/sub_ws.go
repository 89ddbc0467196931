package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/coder/websocket"
)

// wsReceiver is one WebSocket subscription: every text frame is fed to the
// account as it is read, through one buffer.
type wsReceiver struct {
	c   *websocket.Conn
	buf []byte
}

// dialWS opens the WebSocket at u (http:// or ws://) from local.
func dialWS(ctx context.Context, u *url.URL, local net.Addr, header http.Header) (*wsReceiver, error) {
	if _, err := hostPort(u); err != nil {
		return nil, err
	}
	// A transport per subscriber: it only dials, from this subscriber's
	// source address, and hands the connection over after the upgrade.
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: local, Timeout: connectTimeout}).DialContext}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr}, HTTPHeader: header,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("GET %s answered %s: %w", u.Path, resp.Status, err)
		}
		return nil, err
	}
	c.SetReadLimit(-1) // the payload size is the user's choice
	return &wsReceiver{c: c, buf: make([]byte, 4096)}, nil
}

func (w *wsReceiver) run(acc *account) error {
	// A context without Done: the library then arms no timer per read. The
	// receiver ends when close closes the connection.
	ctx := context.Background()
	for {
		_, r, err := w.c.Reader(ctx)
		if err != nil {
			return err
		}
		for {
			n, err := r.Read(w.buf)
			acc.scan(w.buf[:n])
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
		}
	}
}

func (w *wsReceiver) close() { w.c.CloseNow() }
