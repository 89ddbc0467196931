package loadgen

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// wsGUID is appended to the client's key by a server that speaks
// WebSocket, to prove it in Sec-WebSocket-Accept (RFC 6455, section 1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dialWS opens the WebSocket at u (http:// or ws://) from local; header
// holds extra request header lines, each ending in CRLF. The opening
// handshake is written and read by hand on an httpConn, like an SSE
// request, and the socket then read like an SSE stream's, its frames
// parsed by a wsParser: a library's connection would own the socket and
// the bytes it buffered, and read each socket on a goroutine of its own.
func dialWS(ctx context.Context, reactors *reactorPool, u *url.URL, local net.Addr, header string) (*streamReceiver, error) {
	key, err := newWSKey()
	if err != nil {
		return nil, err
	}
	c, h, err := openStream(ctx, u, local, "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\n"+header, 101)
	if err != nil {
		return nil, err
	}
	if err := checkWSAnswer(h, key); err != nil {
		c.close()
		return nil, fmt.Errorf("GET %s: %w", u.Path, err)
	}
	c.conn.SetDeadline(time.Time{})
	s := &streamReceiver{c: c, reactors: reactors}
	s.parser = newWSParser(s.send)
	return s, nil
}

// newWSKey returns a Sec-WebSocket-Key: 16 random bytes in base64.
func newWSKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("WebSocket key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// checkWSAnswer checks that a 101 answer to the handshake sent with key
// switched to WebSocket, as RFC 6455 (section 4.1) wants a client to
// before it reads a frame: a server that does not prove it read the key is
// not speaking WebSocket to this client.
func checkWSAnswer(h respHead, key string) error {
	if !strings.EqualFold(strings.TrimSpace(h.upgrade), "websocket") {
		return fmt.Errorf("switched protocols to %q, not websocket", h.upgrade)
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if want := base64.StdEncoding.EncodeToString(sum[:]); h.wsAccept != want {
		return fmt.Errorf("Sec-WebSocket-Accept %q, want %q", h.wsAccept, want)
	}
	return nil
}
