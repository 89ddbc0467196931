package deliver_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
)

// A client that sends frames right behind its handshake has them read by
// a goroutine of the socket's own. A ping there is answered; a frame
// header begun and never finished must not hold that goroutine (and the
// stream) forever: it gets the same bound as a frame the poller reads.
func TestWSFrameBegunWithHandshakeTimesOut(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{Deliver: func(cfg *deliver.Config) {
		cfg.PeerFrameTimeout = 100 * time.Millisecond
	}})
	url := wsServer(t, c)
	conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(url, "/w"), "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mask := []byte{1, 2, 3, 4}
	ping := []byte{0x89, 0x80 | 2, mask[0], mask[1], mask[2], mask[3], 'h' ^ mask[0], 'i' ^ mask[1]}
	req := "GET /w HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	// One write: the request, a whole ping, and the first byte of a ping.
	if _, err := conn.Write(append(append([]byte(req), ping...), 0x89)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	pong := make([]byte, 4)
	if _, err := io.ReadFull(br, pong); err != nil || !bytes.Equal(pong, []byte{0x8A, 2, 'h', 'i'}) {
		t.Fatalf("got % x, %v; want the pong", pong, err)
	}
	rest, err := io.ReadAll(br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the socket is still open: the unfinished frame was never timed out")
	}
	if err != nil || len(rest) > 0 {
		t.Fatalf("after the unfinished frame: % x, %v; want the socket shut down", rest, err)
	}
	waitFanout(t, c, 0)
}
