package framing

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// The server side of a WebSocket that only sends (RFC 6455). The upgrade
// hands the connection to a Writer like a detached SSE stream, so the same
// fan-out writes both: each event is one pre-built text frame, shared by
// every connection (see AppendWSFrame). What the client sends — pings, the
// closing handshake — is read by ReadWSPeer.

// WebSocket opcodes (RFC 6455 §5.2).
const (
	wsText   = 0x1
	wsBinary = 0x2
	wsClose  = 0x8
	wsPing   = 0x9
	wsPong   = 0xA
)

// WebSocket close codes herald sends (RFC 6455 §7.4.1).
const (
	WSNormalClosure   = 1000
	WSGoingAway       = 1001
	WSProtocolError   = 1002
	WSPolicyViolation = 1008
	WSInternalError   = 1011
)

// wsGUID is appended to the client's key to prove the server speaks
// WebSocket (RFC 6455 §1.3).
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// WSOptions configures UpgradeWS.
type WSOptions struct {
	WriteTimeout time.Duration // default 30s
	// OriginPatterns are the hosts, besides the request's own, whose pages
	// may open the socket (path.Match patterns, "*" for any): a browser
	// sends its cookies with a cross-site WebSocket, so by default only
	// same-origin pages may connect.
	OriginPatterns []string
}

// ErrWSHandshake is returned by UpgradeWS when the request is not a valid
// WebSocket opening handshake; the answer has been written.
var ErrWSHandshake = errors.New("framing: bad WebSocket handshake")

// UpgradeWS answers a WebSocket opening handshake and takes the connection
// over from net/http, like DetachSSE. It returns the Writer for the
// server's frames and the reader of what the client sends (for
// ReadWSPeer). A request that is not a valid handshake gets its error
// answer (400, 403, or 426 for another protocol version) and ErrWSHandshake.
func UpgradeWS(w http.ResponseWriter, r *http.Request, opts WSOptions) (*Writer, io.Reader, error) {
	accept, status, msg := checkWSHandshake(r, opts.OriginPatterns)
	if status != 0 {
		if status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, msg, status)
		return nil, nil, ErrWSHandshake
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "WebSocket needs an HTTP/1.1 connection", http.StatusBadRequest)
		return nil, nil, ErrWSHandshake
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	s := &Writer{conn: conn, timeout: opts.WriteTimeout}
	s.buf = append(s.buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	s.buf = append(s.buf, accept...)
	s.buf = append(s.buf, "\r\n"...)
	s.buf = appendFields(s.buf, w.Header()) // what the handler set, e.g. X-Request-Id
	s.buf = append(s.buf, "\r\n"...)
	if err := s.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	// A client may send frames right behind its request; the server's
	// reader may hold some. Keep those bytes, not its 4 KiB buffer.
	var in io.Reader = conn
	if n := rw.Reader.Buffered(); n > 0 {
		early, _ := rw.Reader.Peek(n)
		in = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
	}
	return s, in, nil
}

// checkWSHandshake validates an opening handshake (RFC 6455 §4.2.1): it
// returns the Sec-WebSocket-Accept value, or an error status and message.
func checkWSHandshake(r *http.Request, origins []string) (accept string, status int, msg string) {
	switch {
	case r.Method != http.MethodGet:
		return "", http.StatusMethodNotAllowed, "a WebSocket handshake is a GET"
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return "", http.StatusUpgradeRequired, `Connection must include "Upgrade"`
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return "", http.StatusUpgradeRequired, `Upgrade must include "websocket"`
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "", http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version: herald speaks 13"
	}
	key := strings.TrimSpace(r.Header.Get("Sec-WebSocket-Key"))
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		return "", http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64"
	}
	if !originAllowed(r, origins) {
		return "", http.StatusForbidden, "origin not allowed"
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(sum[:]), 0, ""
}

// headerHasToken reports whether a comma-separated header holds token,
// ignoring case.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// originAllowed reports whether the page that opened the socket may: no
// Origin (not a browser), the request's own host, or a pattern's match.
func originAllowed(r *http.Request, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(u.Host)); ok {
			return true
		}
	}
	return false
}

// AppendWSFrame appends an unmasked, final server frame: text (the events'
// frames, built once per event and shared), ping, pong or close.
func AppendWSFrame(dst []byte, opcode byte, payload []byte) []byte {
	dst = append(dst, 0x80|opcode)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, payload...)
}

// AppendWSText appends a text frame carrying payload.
func AppendWSText(dst, payload []byte) []byte { return AppendWSFrame(dst, wsText, payload) }

// WSPing is the ping an idle connection gets.
var WSPing = AppendWSFrame(nil, wsPing, nil)

// WSClose returns a close frame with code and reason (cut to fit the
// 125 bytes a control frame may carry).
func WSClose(code int, reason string) []byte {
	p := []byte{byte(code >> 8), byte(code)}
	p = append(p, reason[:min(len(reason), 123)]...)
	return AppendWSFrame(nil, wsClose, p)
}

// Errors ReadWSPeer returns when it ended the connection itself.
var (
	ErrWSData     = errors.New("framing: the WebSocket client sent a data message")
	ErrWSProtocol = errors.New("framing: WebSocket protocol error")
	ErrWSClosed   = errors.New("framing: the WebSocket client closed")
)

// ReadWSPeer reads what the client of a send-only WebSocket sends, until
// the connection must end: ReadWSFrame in a loop.
func ReadWSPeer(in io.Reader, reply func(frame []byte) error) error {
	br := NewWSPeerReader(in)
	for {
		if err := ReadWSFrame(br, reply); err != nil {
			return err
		}
	}
}

// NewWSPeerReader returns a reader sized for what a send-only socket's
// client may send: control frames, at most 131 bytes each.
func NewWSPeerReader(in io.Reader) *bufio.Reader { return bufio.NewReaderSize(in, 128) }

// ReadWSFrame reads one frame from the client of a send-only WebSocket. It
// answers a ping with a pong and the client's close with a close, through
// reply, which must serialise with the server's other writes. A data
// message (herald's sockets only send) is answered with close 1008, a
// malformed frame with close 1002. It returns nil after a ping or pong, and
// otherwise ErrWSClosed after the closing handshake, ErrWSData,
// ErrWSProtocol, or the read error (the client went away).
func ReadWSFrame(br *bufio.Reader, reply func(frame []byte) error) error {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return err
	}
	fin, rsv, opcode := hdr[0]&0x80 != 0, hdr[0]&0x70, hdr[0]&0x0F
	masked, n := hdr[1]&0x80 != 0, int(hdr[1]&0x7F)
	control := opcode >= wsClose
	switch {
	case rsv != 0, !masked, opcode > wsPong, opcode > wsBinary && opcode < wsClose,
		control && (!fin || n > 125):
		reply(WSClose(WSProtocolError, "malformed frame"))
		return ErrWSProtocol
	case !control:
		reply(WSClose(WSPolicyViolation, "this socket only sends"))
		return ErrWSData
	}
	var buf [4 + 125]byte
	if _, err := io.ReadFull(br, buf[:4+n]); err != nil {
		return err
	}
	mask, p := buf[:4], buf[4:4+n]
	for i := range p {
		p[i] ^= mask[i&3]
	}
	switch opcode {
	case wsPing:
		return reply(AppendWSFrame(nil, wsPong, p))
	case wsClose:
		reply(closeReply(p))
		return ErrWSClosed
	}
	return nil // a pong
}

// closeReply is the close frame answering a client's close payload: its
// code echoed (RFC 6455 §5.5.1), 1002 for one no endpoint may send.
func closeReply(p []byte) []byte {
	switch len(p) {
	case 0:
		return AppendWSFrame(nil, wsClose, nil)
	case 1:
		return WSClose(WSProtocolError, "malformed close")
	}
	code := int(p[0])<<8 | int(p[1])
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011, code >= 3000 && code <= 4999:
		return WSClose(code, "")
	}
	return WSClose(WSProtocolError, "invalid close code")
}
