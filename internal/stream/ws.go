package stream

import (
	"context"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// WS is a server-side WebSocket connection that sends text frames under a
// write timeout and answers the peer's pings.
type WS struct {
	c       *websocket.Conn
	timeout time.Duration
}

// WSOptions configures AcceptWS.
type WSOptions struct {
	WriteTimeout time.Duration // default 30s
	// OriginPatterns allowed besides the request's own host (browser clients).
	OriginPatterns []string
	// Subprotocols the server speaks, if any.
	Subprotocols []string
}

// AcceptWS upgrades the request. The returned context ends when the peer
// closes the connection or sends a data frame (the streams herald serves
// are one-way), so a writer loop can select on it.
func AcceptWS(w http.ResponseWriter, r *http.Request, opts WSOptions) (*WS, context.Context, error) {
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns: opts.OriginPatterns,
		Subprotocols:   opts.Subprotocols,
		// Events are small JSON: compression costs more CPU than it saves
		// on most links, and would be per connection rather than once.
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		return nil, nil, err
	}
	c.SetReadLimit(4096)
	ctx := c.CloseRead(r.Context())
	return &WS{c: c, timeout: opts.WriteTimeout}, ctx, nil
}

// Write sends one text frame within the write timeout.
func (w *WS) Write(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	return w.c.Write(ctx, websocket.MessageText, b)
}

// Ping sends a ping and waits for the pong within the write timeout.
func (w *WS) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	return w.c.Ping(ctx)
}

// Close ends the connection with a status code and reason.
func (w *WS) Close(code websocket.StatusCode, reason string) error {
	return w.c.Close(code, reason)
}

// CloseNow ends the connection without the closing handshake.
func (w *WS) CloseNow() error { return w.c.CloseNow() }
