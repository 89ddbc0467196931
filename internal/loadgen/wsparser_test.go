package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// wsFrame returns a server frame (unmasked): fin, opcode and payload, its
// length in ext extended bytes (0: the shortest encoding, 2 or 8: forced).
func wsFrame(fin bool, opcode byte, payload string, ext int) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	n := len(payload)
	if ext == 0 {
		switch {
		case n > 0xFFFF:
			ext = 8
		case n > 125:
			ext = 2
		}
	}
	b := []byte{b0}
	switch ext {
	case 2:
		b = append(b, 126, byte(n>>8), byte(n))
	case 8:
		b = append(b, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		b = append(b, byte(n))
	}
	return append(b, payload...)
}

// wsText1 is a final text frame with the shortest length.
func wsText1(payload string) []byte { return wsFrame(true, wsText, payload, 0) }

// wsStream concatenates frames.
func wsStream(frames ...[]byte) string { return string(bytes.Join(frames, nil)) }

// unmaskReply decodes a frame the parser wrote, which must be a final,
// masked control frame, as "<opcode> <payload>".
func unmaskReply(f []byte) (string, error) {
	if len(f) < 6 || f[0]&0xF0 != 0x80 || f[1]&0x80 == 0 || int(f[1]&0x7F) != len(f)-6 {
		return "", fmt.Errorf("not a final masked frame of its length: % x", f)
	}
	p := bytes.Clone(f[6:])
	for i := range p {
		p[i] ^= f[2+(i&3)]
	}
	return fmt.Sprintf("%x %s", f[0]&0x0F, p), nil
}

// wsParsed is what a parser made of a stream: the payload bytes handed
// on, the replies it wrote (unmasked) and the error it ended with.
type wsParsed struct {
	data    string
	replies []string
	err     error
}

// wsParseIn feeds stream to a new parser in the pieces cut at cuts
// (ascending offsets), stopping at an error as a reader does.
func wsParseIn(t *testing.T, stream string, cuts []int) wsParsed {
	t.Helper()
	var res wsParsed
	var data bytes.Buffer
	p := newWSParser(func(f []byte) error {
		r, err := unmaskReply(f)
		if err != nil {
			t.Fatal(err)
		}
		res.replies = append(res.replies, r)
		return nil
	})
	from := 0
	for _, to := range append(cuts, len(stream)) {
		end, err := p.feed([]byte(stream[from:to]), func(b []byte) { data.Write(b) })
		if end {
			t.Fatal("a WebSocket stream ended without an error")
		}
		from = to
		if res.err = err; err != nil {
			break
		}
	}
	res.data = data.String()
	return res
}

// A stream of frames parses the same however it is cut: whole, byte by
// byte, and in two at every offset (at many, for long streams). Pings are
// answered once each, fragments or not around them; a close ends the
// stream with its code; what a server may not send is an error.
func TestWSParser(t *testing.T) {
	long := strings.Repeat("0123456789", 7000) // over 0xFFFF bytes: a 64-bit length
	tests := []struct {
		name      string
		stream    string
		data      string
		replies   []string
		closeCode int  // the stream ends with a close of this code
		malformed bool // the stream ends with errWSMalformed
	}{
		{name: "text", stream: wsStream(wsText1("hello"), wsText1(", world")), data: "hello, world"},
		{name: "binary", stream: wsStream(wsFrame(true, wsBinary, "\x00\xff~", 0)), data: "\x00\xff~"},
		{name: "empty frames", stream: wsStream(wsText1(""), wsFrame(false, wsText, "", 0), wsFrame(true, wsContinuation, "", 0), wsText1("a")),
			data: "a"},
		{name: "fragmented, a ping between", stream: wsStream(wsFrame(false, wsText, "hel", 0), wsFrame(true, wsPing, "p1", 0),
			wsFrame(false, wsContinuation, "lo, ", 0), wsFrame(true, wsPong, "unasked", 0), wsFrame(true, wsContinuation, "world", 0),
			wsText1("!")),
			data: "hello, world!", replies: []string{"a p1"}},
		{name: "pings", stream: wsStream(wsFrame(true, wsPing, "", 0), wsText1("x"), wsFrame(true, wsPing, strings.Repeat("p", 125), 0)),
			data: "x", replies: []string{"a ", "a " + strings.Repeat("p", 125)}},
		{name: "16-bit length", stream: wsStream(wsText1(long[:126]), wsText1(long[:0xFFFF])), data: long[:126] + long[:0xFFFF]},
		{name: "16-bit length, not the shortest", stream: wsStream(wsFrame(true, wsText, "abc", 2)), data: "abc"},
		{name: "64-bit length", stream: wsStream(wsText1(long), wsText1("z")), data: long + "z"},
		{name: "64-bit length, not the shortest", stream: wsStream(wsFrame(true, wsText, "abc", 8)), data: "abc"},
		{name: "control frame with an extended length", stream: wsStream(wsText1("abc"), wsFrame(true, wsPing, "q", 2)),
			data: "abc", malformed: true},
		{name: "close", stream: wsStream(wsText1("a"), wsFrame(true, wsClose, "\x03\xe9going away", 0), wsText1("b")),
			data: "a", replies: []string{"8 \x03\xe9"}, closeCode: 1001},
		{name: "close without a code", stream: wsStream(wsFrame(true, wsClose, "", 0)), replies: []string{"8 "}, closeCode: wsNoStatusCode},
		{name: "close with half a code", stream: wsStream(wsFrame(true, wsClose, "\x03", 0)), malformed: true},
		{name: "masked", stream: "\x81\x81abcd" + "x", malformed: true},
		{name: "RSV1", stream: wsStream(wsFrame(true, wsText|0x40, "a", 0)), malformed: true},
		{name: "RSV3", stream: wsStream(wsText1("a"), wsFrame(true, wsText|0x10, "b", 0)), data: "a", malformed: true},
		{name: "opcode 3", stream: wsStream(wsFrame(true, 0x3, "a", 0)), malformed: true},
		{name: "opcode 0xB", stream: wsStream(wsFrame(true, 0xB, "", 0)), malformed: true},
		{name: "continuation outside a message", stream: wsStream(wsText1("a"), wsFrame(true, wsContinuation, "b", 0)), data: "a", malformed: true},
		{name: "message inside a message", stream: wsStream(wsFrame(false, wsText, "a", 0), wsText1("b")), data: "a", malformed: true},
		{name: "fragmented ping", stream: wsStream(wsFrame(false, wsPing, "a", 0)), malformed: true},
		{name: "long ping", stream: wsStream(wsFrame(true, wsPing, strings.Repeat("p", 126), 0)), malformed: true},
		{name: "64-bit length, top bit", stream: "\x81\x7f\x80\x00\x00\x00\x00\x00\x00\x01a", malformed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, got wsParsed) {
				t.Helper()
				if got.data != tc.data {
					t.Fatalf("%s: data %.40q… (%d bytes); want %.40q… (%d bytes)", how, got.data, len(got.data), tc.data, len(tc.data))
				}
				if fmt.Sprint(got.replies) != fmt.Sprint(tc.replies) {
					t.Fatalf("%s: replies %q; want %q", how, got.replies, tc.replies)
				}
				var ce *wsCloseError
				switch {
				case tc.closeCode != 0:
					if !errors.As(got.err, &ce) || ce.code != tc.closeCode {
						t.Fatalf("%s: error %v; want a close with code %d", how, got.err, tc.closeCode)
					}
				case tc.malformed:
					if !errors.Is(got.err, errWSMalformed) {
						t.Fatalf("%s: error %v; want errWSMalformed", how, got.err)
					}
				case got.err != nil:
					t.Fatalf("%s: %v", how, got.err)
				}
			}
			step := 1
			if len(tc.stream) > 4096 {
				step = 997 // the cuts that matter are the few near each head, below
			}
			keep := func(cut int) bool {
				return cut%step == 0 || cut < 32 || len(tc.stream)-cut < 32 || (cut > 126 && cut < 200)
			}
			for _, f := range feedings(len(tc.stream), keep) {
				check(f.how, wsParseIn(t, tc.stream, f.cuts))
			}
		})
	}
}

// The close error says the code and the reason; a stream cut short ends
// with an unexpected EOF.
func TestWSParserErrors(t *testing.T) {
	got := wsParseIn(t, wsStream(wsFrame(true, wsClose, "\x0f\xa0bye now", 0)), nil)
	if want := "the server closed the WebSocket: code 4000 bye now"; got.err == nil || got.err.Error() != want {
		t.Errorf("close: %v; want %q", got.err, want)
	}
	p := newWSParser(func([]byte) error { return nil })
	if err := p.eof(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("eof: %v", err)
	}
	failed := errors.New("the socket is full")
	p = newWSParser(func([]byte) error { return failed })
	if _, err := p.feed(wsFrame(true, wsPing, "x", 0), func([]byte) {}); !errors.Is(err, failed) {
		t.Errorf("a pong that could not be written: %v", err)
	}
}

// Parsing frames into an account, pings answered, allocates nothing.
func TestWSParserAllocs(t *testing.T) {
	var n atomic.Uint64
	acc := newAccount(markerOf(newRunID()), &n)
	payload := string(appendPayload([]byte(`{"b":"`), acc.marker, time.Now().UnixNano(), 1, 100)) + `"}`
	stream := []byte(wsStream(wsFrame(false, wsText, payload[:20], 0), wsFrame(true, wsPing, "ping", 0),
		wsFrame(true, wsContinuation, payload[20:], 0)))
	pongs := 0
	p := newWSParser(func([]byte) error { pongs++; return nil })
	p.feed(stream, acc.scan) // grows the bitset
	if allocs := testing.AllocsPerRun(100, func() {
		p.feed(stream[:3], acc.scan)
		p.feed(stream[3:], acc.scan)
	}); allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
	if acc.got != 1 || acc.dups != 101 || pongs != 102 {
		t.Fatalf("got %d dups %d pongs %d; want 1, 101, 102", acc.got, acc.dups, pongs)
	}
}
