package framing

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestWSHandshake(t *testing.T) {
	valid := http.Header{
		"Connection":            {"keep-alive, Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
	}
	with := func(k, v string) http.Header {
		h := valid.Clone()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	tests := []struct {
		name    string
		method  string
		header  http.Header
		origins []string
		status  int
	}{
		{"valid", "GET", valid, nil, 0},
		{"POST", "POST", valid, nil, 405},
		{"no Connection upgrade", "GET", with("Connection", "keep-alive"), nil, 426},
		{"no Upgrade", "GET", with("Upgrade", ""), nil, 426},
		{"version 8", "GET", with("Sec-Websocket-Version", "8"), nil, 426},
		{"short key", "GET", with("Sec-Websocket-Key", "c2hvcnQ="), nil, 400},
		{"key not base64", "GET", with("Sec-Websocket-Key", "!!!!"), nil, 400},
		{"same origin", "GET", with("Origin", "http://example.com"), nil, 0},
		{"cross origin", "GET", with("Origin", "https://evil.test"), nil, 403},
		{"cross origin allowed", "GET", with("Origin", "https://app.plex.tv"), []string{"*.plex.tv"}, 0},
		{"any origin", "GET", with("Origin", "https://evil.test"), []string{"*"}, 0},
		{"bad origin", "GET", with("Origin", "::"), nil, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://example.com/ws", nil)
			r.Header = tt.header
			accept, status, _ := checkWSHandshake(r, tt.origins)
			if status != tt.status {
				t.Fatalf("status %d, want %d", status, tt.status)
			}
			// RFC 6455 §1.3's worked example.
			if status == 0 && accept != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
				t.Fatalf("accept %q", accept)
			}
		})
	}
}

func TestAppendWSFrame(t *testing.T) {
	tests := []struct {
		n    int
		head []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xFF, 0xFF}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tt := range tests {
		p := bytes.Repeat([]byte{'x'}, tt.n)
		f := AppendWSText(nil, p)
		if !bytes.Equal(f[:len(tt.head)], tt.head) || !bytes.Equal(f[len(tt.head):], p) {
			t.Errorf("%d bytes: head % x", tt.n, f[:min(len(f), 10)])
		}
	}
	if c := WSClose(1001, strings.Repeat("r", 200)); len(c) != 2+125 || c[0] != 0x88 || c[2] != 0x03 || c[3] != 0xE9 {
		t.Errorf("close frame % x…, %d bytes", c[:4], len(c))
	}
}

// clientFrame is a masked frame as a client sends it.
func clientFrame(fin bool, opcode byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0, 0x80 | byte(len(payload)), 1, 2, 3, 4}
	for i, c := range payload {
		f = append(f, c^f[2+i%4])
	}
	return f
}

func TestReadWSPeer(t *testing.T) {
	cat := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	tests := []struct {
		name    string
		in      []byte
		err     error
		replies [][]byte
	}{
		{"ping then close", cat(clientFrame(true, wsPing, []byte("hi")), clientFrame(true, wsClose, []byte{0x03, 0xE8, 'b', 'y', 'e'})),
			ErrWSClosed, [][]byte{AppendWSFrame(nil, wsPong, []byte("hi")), WSClose(1000, "")}},
		{"pong ignored, empty close", cat(clientFrame(true, wsPong, nil), clientFrame(true, wsClose, nil)),
			ErrWSClosed, [][]byte{AppendWSFrame(nil, wsClose, nil)}},
		{"private close code echoed", clientFrame(true, wsClose, []byte{0x0F, 0xA0}), ErrWSClosed, [][]byte{WSClose(4000, "")}},
		{"reserved close code", clientFrame(true, wsClose, []byte{0x03, 0xED}), ErrWSClosed, [][]byte{WSClose(WSProtocolError, "invalid close code")}},
		{"one-byte close", clientFrame(true, wsClose, []byte{3}), ErrWSClosed, [][]byte{WSClose(WSProtocolError, "malformed close")}},
		{"text message", clientFrame(true, wsText, []byte("x")), ErrWSData, [][]byte{WSClose(WSPolicyViolation, "this socket only sends")}},
		{"unmasked", []byte{0x89, 0}, ErrWSProtocol, [][]byte{WSClose(WSProtocolError, "malformed frame")}},
		{"fragmented ping", clientFrame(false, wsPing, nil), ErrWSProtocol, [][]byte{WSClose(WSProtocolError, "malformed frame")}},
		{"reserved bit", []byte{0xC9, 0x80, 0, 0, 0, 0}, ErrWSProtocol, [][]byte{WSClose(WSProtocolError, "malformed frame")}},
		{"reserved opcode", clientFrame(true, 0x3, nil), ErrWSProtocol, [][]byte{WSClose(WSProtocolError, "malformed frame")}},
		{"long control", []byte{0x89, 0xFE, 0, 200}, ErrWSProtocol, [][]byte{WSClose(WSProtocolError, "malformed frame")}},
		{"client gone", clientFrame(true, wsPing, nil)[:3], io.ErrUnexpectedEOF, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var replies [][]byte
			err := ReadWSPeer(bytes.NewReader(tt.in), func(f []byte) error {
				replies = append(replies, bytes.Clone(f))
				return nil
			})
			if !errors.Is(err, tt.err) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if len(replies) != len(tt.replies) {
				t.Fatalf("%d replies, want %d: % x", len(replies), len(tt.replies), replies)
			}
			for i := range replies {
				if !bytes.Equal(replies[i], tt.replies[i]) {
					t.Errorf("reply %d: % x, want % x", i, replies[i], tt.replies[i])
				}
			}
		})
	}
}

func FuzzReadWSPeer(f *testing.F) {
	f.Add(clientFrame(true, wsPing, []byte("hi")))
	f.Add(clientFrame(true, wsClose, []byte{0x03, 0xE8}))
	f.Add(clientFrame(true, wsText, []byte("x")))
	f.Add([]byte{0x89, 0xFE, 0, 200})
	f.Fuzz(func(t *testing.T, in []byte) {
		err := ReadWSPeer(bytes.NewReader(in), func(f []byte) error {
			if len(f) < 2 || f[0]&0x80 == 0 || f[1]&0x80 != 0 || int(f[1]) != len(f)-2 {
				t.Fatalf("reply is not one unmasked final control frame: % x", f)
			}
			return nil
		})
		if err == nil {
			t.Fatal("ReadWSPeer returned nil: it only returns when the connection ends")
		}
	})
}

// TestUpgradeWSWithClient drives UpgradeWS and ReadWSPeer with a real
// client library: frames arrive, the client's pings are answered, and its
// close completes the closing handshake.
func TestUpgradeWSWithClient(t *testing.T) {
	done := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, in, err := UpgradeWS(w, r, WSOptions{})
		if err != nil {
			done <- err
			return
		}
		out.Add(AppendWSText(nil, []byte(`{"n":1}`)))
		out.Add(AppendWSText(nil, bytes.Repeat([]byte("y"), 70000)))
		if err := out.Flush(); err != nil {
			done <- err
			return
		}
		done <- ReadWSPeer(in, func(f []byte) error { return out.WriteNow(f, 0) })
		out.Close()
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	for _, want := range []int{7, 70000} {
		typ, b, err := c.Read(ctx)
		if err != nil || typ != websocket.MessageText || len(b) != want {
			t.Fatalf("read: %v %v %d bytes, want %d", typ, err, len(b), want)
		}
	}
	go c.Read(ctx) // reads the pong for Ping
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrWSClosed) {
		t.Fatalf("server side ended with %v, want ErrWSClosed", err)
	}
}

func TestUpgradeWSRefuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := UpgradeWS(w, r, WSOptions{}); !errors.Is(err, ErrWSHandshake) {
			t.Errorf("err %v", err)
		}
	}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "7")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 426 || resp.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Fatalf("%d, Sec-WebSocket-Version %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Version"))
	}
}

func FuzzCheckWSHandshake(f *testing.F) {
	f.Add("keep-alive, Upgrade", "websocket", "13", "dGhlIHNhbXBsZSBub25jZQ==", "http://example.com", "*.example.org")
	f.Add("upgrade", "WebSocket, h2c", "8", "!!", "null", "")
	f.Add("Upgrade", "websocket", "13", "AAAAAAAAAAAAAAAAAAAAAA==", "https://a.example.org:8443", "*.example.org")
	f.Fuzz(func(t *testing.T, connection, upgrade, version, key, origin, pattern string) {
		r := httptest.NewRequest("GET", "http://example.com/ws", nil)
		r.Header.Set("Connection", connection)
		r.Header.Set("Upgrade", upgrade)
		r.Header.Set("Sec-WebSocket-Version", version)
		r.Header.Set("Sec-WebSocket-Key", key)
		r.Header.Set("Origin", origin)
		accept, status, msg := checkWSHandshake(r, []string{pattern})
		switch status {
		case 0:
			if len(accept) != 28 || version != "13" {
				t.Fatalf("accepted with Sec-WebSocket-Accept %q, version %q", accept, version)
			}
		case http.StatusBadRequest, http.StatusForbidden, http.StatusUpgradeRequired:
			if accept != "" || msg == "" {
				t.Fatalf("refused %d with accept %q, message %q", status, accept, msg)
			}
		default:
			t.Fatalf("status %d", status)
		}
	})
}
