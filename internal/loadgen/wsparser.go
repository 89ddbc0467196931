package loadgen

import (
	"errors"
	"fmt"
	"io"
)

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
	wsPing         = 0x9
	wsPong         = 0xA
)

// The limits of a control frame (RFC 6455, section 5.5), and of the masked
// frame the parser answers one with: two head bytes, the mask key, the
// payload.
const (
	wsMaxControl   = 125
	wsMaxReply     = 2 + 4 + wsMaxControl
	wsNoStatusCode = 1005 // what a close without a code stands for (RFC 6455, section 7.4.1)
)

// wsMaskKey masks every frame the receivers send, big-endian. RFC 6455
// wants a fresh, unpredictable key per frame so that a browser's script
// cannot steer the bytes an intermediary sees; the tool runs no one's
// script, and a fixed key costs no random number per pong. It is not zero,
// so that a server that forgets to unmask is noticed.
const wsMaskKey = 0x68626d6b

// errWSMalformed is what a WebSocket stream that breaks RFC 6455's framing
// wraps.
var errWSMalformed = errors.New("malformed WebSocket frame")

// wsCloseError is how a stream ends when the server closes the WebSocket.
type wsCloseError struct {
	code   int // wsNoStatusCode if the close frame had none
	reason string
}

func (e *wsCloseError) Error() string {
	if e.code == wsNoStatusCode {
		return "the server closed the WebSocket without a code"
	}
	if e.reason == "" {
		return fmt.Sprintf("the server closed the WebSocket: code %d", e.code)
	}
	return fmt.Sprintf("the server closed the WebSocket: code %d %s", e.code, e.reason)
}

// wsState is where a wsParser is in the stream's framing.
type wsState uint8

const (
	wsHead      wsState = iota // the first byte of a frame: FIN, RSV, opcode
	wsLength                   // the second: MASK and the 7-bit length
	wsExtLength                // the 16- or 64-bit extended length
	wsData                     // a data frame's payload
	wsControl                  // a control frame's payload
)

// wsParser is a push parser of the frames a WebSocket server sends, the
// counterpart of bodyParser for a socket that was upgraded: fed the bytes
// as they are read, in any pieces, it hands the payload of the data frames
// to a function in pieces of those same bytes, without copying, and
// answers the server's pings itself through reply. A control frame's
// payload, at most 125 bytes, is gathered in the parser, since it may
// span reads; nothing else is kept.
type wsParser struct {
	state   wsState
	opcode  byte   // the current frame's
	message bool   // a fragmented data message is open: continuation frames follow
	left    uint64 // payload bytes left in the frame (in wsExtLength: the length so far)
	need    int    // extended length bytes still to read
	n       int    // control payload bytes gathered

	// reply writes a frame whole to the server. It is called from feed,
	// on the goroutine that reads the connection.
	reply func(frame []byte) error

	control [wsMaxControl]byte
	out     [wsMaxReply]byte // the reply being built
}

// newWSParser returns a parser that answers pings through reply.
func newWSParser(reply func(frame []byte) error) *wsParser {
	return &wsParser{reply: reply}
}

// feed parses b, which continues what the previous feeds saw, and hands
// the payload of the text, binary and continuation frames in it to data.
// A WebSocket has no end of its own but the server's close frame, which is
// an error (a *wsCloseError); so is a frame a server may not send, which
// wraps errWSMalformed, and a reply that could not be written.
func (p *wsParser) feed(b []byte, data func([]byte)) (end bool, err error) {
	for len(b) > 0 {
		switch p.state {
		case wsData:
			k := min(uint64(len(b)), p.left)
			data(b[:k])
			b = b[k:]
			if p.left -= k; p.left == 0 {
				p.state = wsHead
			}
		case wsControl:
			k := copy(p.control[p.n:p.n+int(p.left)], b)
			b = b[k:]
			p.n += k
			if p.left -= uint64(k); p.left == 0 {
				if err := p.controlFrame(); err != nil {
					return false, err
				}
			}
		default:
			if err := p.step(b[0]); err != nil {
				return false, err
			}
			b = b[1:]
		}
	}
	return false, nil
}

// step advances the framing by one byte of a frame's head.
func (p *wsParser) step(c byte) error {
	switch p.state {
	case wsHead:
		fin, op := c&0x80 != 0, c&0x0F
		if c&0x70 != 0 {
			return fmt.Errorf("reserved bits %#x set (no extension was agreed): %w", c&0x70, errWSMalformed)
		}
		switch op {
		case wsContinuation:
			if !p.message {
				return fmt.Errorf("a continuation frame outside a message: %w", errWSMalformed)
			}
			p.message = !fin
		case wsText, wsBinary:
			if p.message {
				return fmt.Errorf("a new message inside a fragmented one: %w", errWSMalformed)
			}
			p.message = !fin
		case wsClose, wsPing, wsPong:
			if !fin {
				return fmt.Errorf("a fragmented control frame: %w", errWSMalformed)
			}
		default:
			return fmt.Errorf("unknown opcode %#x: %w", op, errWSMalformed)
		}
		p.opcode, p.state = op, wsLength
	case wsLength:
		if c&0x80 != 0 {
			return fmt.Errorf("a masked frame from the server: %w", errWSMalformed)
		}
		switch n := c & 0x7F; {
		case p.opcode >= wsClose && n > wsMaxControl:
			return fmt.Errorf("a control frame of over %d bytes: %w", wsMaxControl, errWSMalformed)
		case n == 126:
			p.left, p.need, p.state = 0, 2, wsExtLength
		case n == 127:
			p.left, p.need, p.state = 0, 8, wsExtLength
		default:
			p.left = uint64(n)
			return p.payload()
		}
	case wsExtLength:
		p.left = p.left<<8 | uint64(c)
		if p.need--; p.need > 0 {
			return nil
		}
		if p.left>>63 != 0 {
			return fmt.Errorf("a 64-bit length with its top bit set: %w", errWSMalformed)
		}
		return p.payload()
	}
	return nil
}

// payload starts the payload of the frame whose head was just read, or
// ends the frame if it has none.
func (p *wsParser) payload() error {
	if p.opcode >= wsClose {
		p.n, p.state = 0, wsControl
		if p.left == 0 {
			return p.controlFrame()
		}
		return nil
	}
	p.state = wsData
	if p.left == 0 {
		p.state = wsHead
	}
	return nil
}

// controlFrame acts on the control frame just read: a ping is answered
// with a pong carrying its payload, a close ends the stream.
func (p *wsParser) controlFrame() error {
	p.state = wsHead
	payload := p.control[:p.n]
	switch p.opcode {
	case wsPing:
		if err := p.reply(p.frame(wsPong, payload)); err != nil {
			return fmt.Errorf("answer a ping: %w", err)
		}
	case wsClose:
		return p.closeFrame(payload)
	}
	return nil // a pong: nothing to do
}

// closeFrame answers the server's close frame with payload, as the closing
// handshake wants (RFC 6455, section 5.5.1), and returns the error that
// ends the stream. The answer is a courtesy: the connection is closed
// right after, whether it was written or not.
func (p *wsParser) closeFrame(payload []byte) error {
	switch len(payload) {
	case 0:
		p.reply(p.frame(wsClose, nil))
		return &wsCloseError{code: wsNoStatusCode}
	case 1:
		return fmt.Errorf("a close frame with a 1-byte code: %w", errWSMalformed)
	}
	p.reply(p.frame(wsClose, payload[:2]))
	return &wsCloseError{code: int(payload[0])<<8 | int(payload[1]), reason: string(payload[2:])}
}

// frame builds in p.out the client frame (final, masked) of opcode with
// payload, of at most wsMaxControl bytes, and returns it.
func (p *wsParser) frame(opcode byte, payload []byte) []byte {
	f := append(p.out[:0], 0x80|opcode, 0x80|byte(len(payload)),
		wsMaskKey>>24, wsMaskKey>>16&0xFF, wsMaskKey>>8&0xFF, wsMaskKey&0xFF)
	mask := f[2:6]
	for i, c := range payload {
		f = append(f, c^mask[i&3])
	}
	return f
}

// ended is false: only the server's close frame, an error, ends a
// WebSocket.
func (p *wsParser) ended() bool { return false }

// eof is the stream's fate when the connection ends without the server's
// close frame: an error.
func (p *wsParser) eof() error {
	return fmt.Errorf("the connection ended without a WebSocket close frame: %w", io.ErrUnexpectedEOF)
}
