package client

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []sseEvent
		wantErr error
	}{
		{"one event", "id: 1\nevent: opened\ndata: {\"a\":1}\n\n",
			[]sseEvent{{id: "1", hasID: true, event: "opened", data: []byte(`{"a":1}`)}}, io.EOF},
		{"CRLF and CR line ends", "id: 1\r\ndata: x\r\n\r\nid: 2\rdata: y\r\r",
			[]sseEvent{{id: "1", hasID: true, data: []byte("x")}, {id: "2", hasID: true, data: []byte("y")}}, io.EOF},
		{"multi-line data", "data: a\ndata: b\ndata\n\n",
			[]sseEvent{{data: []byte("a\nb\n")}}, io.EOF},
		{"no space after colon", "data:x\nevent:t\n\n",
			[]sseEvent{{event: "t", data: []byte("x")}}, io.EOF},
		{"comments and retry ignored", ": hi\n\nretry: 2000\n\n: keep-alive\n\ndata: z\n\n",
			[]sseEvent{{data: []byte("z")}}, io.EOF},
		{"event without data is not dispatched", "event: reset\n\ndata: q\n\n",
			[]sseEvent{{data: []byte("q")}}, io.EOF},
		{"reset control event", "event: reset\ndata: {\"after\":0,\"earliest\":5}\n\n",
			[]sseEvent{{event: "reset", data: []byte(`{"after":0,"earliest":5}`)}}, io.EOF},
		{"cut inside an event", "id: 1\ndata: {\"a\"", nil, io.ErrUnexpectedEOF},
		{"cut before the blank line", "id: 1\ndata: x\n", nil, io.ErrUnexpectedEOF},
		{"unknown fields", "foo: bar\ndata: x\n\n", []sseEvent{{data: []byte("x")}}, io.EOF},
		{"line too long", "data: " + strings.Repeat("x", maxSSELine+1) + "\n\n", nil, errLineTooLong},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			name := tt.name
			var r io.Reader = strings.NewReader(tt.in)
			if split {
				// One byte at a time: line ends split across reads.
				name += "/one byte reads"
				r = iotest.OneByteReader(r)
				if len(tt.in) > 1<<20 {
					continue
				}
			}
			t.Run(name, func(t *testing.T) {
				lines := 0
				sr := newSSEReader(r, func() { lines++ })
				var got []sseEvent
				var err error
				for {
					var ev sseEvent
					if ev, err = sr.next(); err != nil {
						break
					}
					got = append(got, ev)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d events %+v, want %d", len(got), got, len(tt.want))
				}
				for i := range got {
					g, w := got[i], tt.want[i]
					if g.id != w.id || g.hasID != w.hasID || g.event != w.event || string(g.data) != string(w.data) {
						t.Errorf("event %d = %+v, want %+v", i, g, w)
					}
				}
				if lines == 0 && !errors.Is(tt.wantErr, errLineTooLong) {
					t.Error("onLine never called")
				}
			})
		}
	}
}

func TestNextBackoff(t *testing.T) {
	var got []time.Duration
	d := time.Duration(0)
	for range 8 {
		d = nextBackoff(d)
		got = append(got, d)
	}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoff steps %v, want %v ms", got, want)
		}
	}
}
