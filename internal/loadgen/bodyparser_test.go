package loadgen

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// parsed is what a parser made of a body: the data handed on, whether the
// body ended, and the error.
type parsed struct {
	data string
	end  bool
	err  error
}

// parseIn feeds body to a parser for h in the pieces cut at cuts (offsets,
// ascending), stopping at the end or an error as a reader does.
func parseIn(h respHead, body string, cuts []int) parsed {
	p := newBodyParser(h)
	var data bytes.Buffer
	collect := func(b []byte) { data.Write(b) }
	var res parsed
	from := 0
	for _, to := range append(cuts, len(body)) {
		res.end, res.err = p.feed([]byte(body[from:to]), collect)
		from = to
		if res.end || res.err != nil {
			break
		}
	}
	res.data = data.String()
	return res
}

// Chunked bodies parse the same however they are cut: whole, byte by byte,
// and in two at every offset.
func TestBodyParserChunked(t *testing.T) {
	chunked := respHead{status: 200, length: -1, chunked: true}
	tests := []struct {
		name      string
		body      string
		data      string
		end       bool
		malformed bool
	}{
		{"chunks", "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n", "hello, world", true, false},
		{"extensions", "5;a=b\r\nhello\r\n7 ; c=\"d;e\"\r\n, world\r\n0;z\r\n\r\n", "hello, world", true, false},
		{"upper and lower hex", "A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n", "0123456789abcdefghijk", true, false},
		{"leading zeros", "0005\r\nhello\r\n00\r\n\r\n", "hello", true, false},
		{"trailers", "5\r\nhello\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n", "hello", true, false},
		{"bare LFs", "5\nhello\n0\nX-A: 1\n\n", "hello", true, false},
		{"bytes after the end", "5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", "hello", true, false},
		{"not ended yet", "5\r\nhello\r\n3\r\nab", "helloab", false, false},
		{"inside the trailers", "5\r\nhello\r\n0\r\nX-A: 1\r\n", "hello", false, false},
		{"size line not ended", "5\r\nhello\r\n1f", "hello", false, false},
		{"not hex", "zz\r\nhello\r\n", "", false, true},
		{"no size", "\r\nhello\r\n", "", false, true},
		{"space inside the size", "5 5\r\nhello\r\n", "", false, true},
		{"CR without LF in the size line", "5\rhello\r\n", "", false, true},
		{"size too large", "1000000000000000\r\n", "", false, true},
		{"size line too long", "5;" + strings.Repeat("x", maxChunkLine) + "\r\nhello\r\n", "", false, true},
		{"no CRLF after the data", "5\r\nhelloXY", "hello", false, true},
		{"CR without LF after the data", "5\r\nhello\rX", "hello", false, true},
		{"CR without LF after the trailers", "5\r\nhello\r\n0\r\n\rX", "hello", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check := func(how string, got parsed) {
				t.Helper()
				if got.data != tc.data || got.end != tc.end || (got.err != nil) != tc.malformed {
					t.Fatalf("%s: data %q end %v err %v; want %q, %v, malformed %v", how, got.data, got.end, got.err, tc.data, tc.end, tc.malformed)
				}
				if got.err != nil && !errors.Is(got.err, errMalformed) {
					t.Fatalf("%s: error %v does not wrap errMalformed", how, got.err)
				}
			}
			for _, f := range feedings(len(tc.body), nil) {
				check(f.how, parseIn(chunked, tc.body, f.cuts))
			}
		})
	}
}

// A Content-Length body ends after its length; a body without one ends
// with the connection, which eof tells from a body cut short.
func TestBodyParserFramings(t *testing.T) {
	tests := []struct {
		name   string
		head   respHead
		body   string
		data   string
		end    bool
		eofErr bool // the connection ending after body cuts the body short
	}{
		{"length", respHead{length: 5}, "hello", "hello", true, false},
		{"length, more follows", respHead{length: 5}, "helloHTTP/1.1", "hello", true, false},
		{"length, short", respHead{length: 9}, "hello", "hello", false, true},
		{"length zero", respHead{length: 0}, "", "", true, false},
		{"until close", respHead{length: -1}, "data: 1\n\n", "data: 1\n\n", false, false},
		{"chunked over a length", respHead{length: 3, chunked: true}, "5\r\nhello\r\n0\r\n\r\n", "hello", true, false},
		{"chunked, cut short", respHead{length: -1, chunked: true}, "5\r\nhel", "hel", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for cut := 0; cut <= len(tc.body); cut++ {
				got := parseIn(tc.head, tc.body, []int{cut})
				if got.data != tc.data || got.end != tc.end || got.err != nil {
					t.Fatalf("cut at %d: data %q end %v err %v; want %q, %v, nil", cut, got.data, got.end, got.err, tc.data, tc.end)
				}
			}
			p := newBodyParser(tc.head)
			p.feed([]byte(tc.body), func([]byte) {})
			if err := p.eof(); (err != nil) != tc.eofErr || (err != nil && !errors.Is(err, io.ErrUnexpectedEOF)) {
				t.Fatalf("eof: %v; want an unexpected EOF: %v", err, tc.eofErr)
			}
		})
	}
}

// Parsing a chunked stream into an account allocates nothing.
func TestBodyParserAllocs(t *testing.T) {
	var n atomic.Uint64
	acc := newAccount(markerOf(newRunID()), &n)
	frame := appendPayload([]byte(`data: {"b":"`), acc.marker, time.Now().UnixNano(), 1, 100)
	frame = append(frame, "\"}\n\n"...)
	body := []byte(strconv.FormatInt(int64(len(frame)), 16) + ";x=y\r\n" + string(frame) + "\r\n")
	p := newBodyParser(respHead{length: -1, chunked: true})
	p.feed(body, acc.scan) // grows the bitset
	if allocs := testing.AllocsPerRun(100, func() {
		p.feed(body[:3], acc.scan)
		p.feed(body[3:], acc.scan)
	}); allocs != 0 {
		t.Fatalf("%v allocations per chunk", allocs)
	}
	if acc.got != 1 || acc.dups != 101 {
		t.Fatalf("got %d dups %d; want 1, 101", acc.got, acc.dups)
	}
}
