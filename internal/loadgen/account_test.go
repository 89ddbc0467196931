package loadgen

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// Tokens are found however the bytes are cut, counted once, and only when
// they carry this run's marker.
func TestAccountScan(t *testing.T) {
	marker := []byte("~hbabcdef~")
	now := time.Now().UnixNano()
	tok := func(seq uint64) string { return string(appendPayload(nil, marker, now, seq, 3)) }
	tests := []struct {
		name      string
		stream    string
		got, dups uint64
	}{
		{"one", `data: {"b":"` + tok(1) + `"}`, 1, 0},
		{"several in one line", `[` + tok(1) + `,` + tok(2) + `,` + tok(3) + `]`, 3, 0},
		{"repeated", tok(7) + "\n\n" + tok(7), 1, 1},
		{"another run", `~hbzzzzzz~123~4~ ` + tok(2), 1, 0},
		{"marker restarts inside a false start", `~hb~h~hbabc` + tok(5), 1, 0},
		{"no digits", `~hbabcdef~~1~ ~hbabcdef~12~~`, 0, 0},
		{"other text", `{"id":"~x~","t":12}`, 0, 0},
		{"sequence zero", string(appendPayload(nil, marker, now, 0, 0)), 0, 0},
	}
	for _, tc := range tests {
		// Every way of cutting the stream in two, and byte by byte.
		for cut := 0; cut <= len(tc.stream); cut++ {
			var n atomic.Uint64
			a := newAccount(marker, &n)
			a.scan([]byte(tc.stream[:cut]))
			a.scan([]byte(tc.stream[cut:]))
			if a.got != tc.got || a.dups != tc.dups || n.Load() != tc.got {
				t.Fatalf("%s, cut at %d: got %d dups %d delivered %d; want %d, %d", tc.name, cut, a.got, a.dups, n.Load(), tc.got, tc.dups)
			}
		}
		var n atomic.Uint64
		a := newAccount(marker, &n)
		for i := range len(tc.stream) {
			a.scan([]byte{tc.stream[i]})
		}
		if a.got != tc.got || a.dups != tc.dups {
			t.Errorf("%s, byte by byte: got %d dups %d; want %d, %d", tc.name, a.got, a.dups, tc.got, tc.dups)
		}
	}
}

// Sequence numbers past the bitset's end grow it; latencies are recorded.
func TestAccountRecord(t *testing.T) {
	var n atomic.Uint64
	a := newAccount(markerOf(newRunID()), &n)
	var b bytes.Buffer
	for _, seq := range []uint64{1, 1000, 64, 63, 5000, 1000} {
		fmt.Fprintf(&b, "%s ", appendPayload(nil, a.marker, time.Now().Add(-time.Millisecond).UnixNano(), seq, 0))
	}
	a.scan(b.Bytes())
	if a.got != 5 || a.dups != 1 || a.hist.Count() != 5 {
		t.Fatalf("got %d dups %d samples %d; want 5, 1, 5", a.got, a.dups, a.hist.Count())
	}
	if a.hist.Max() < time.Millisecond {
		t.Fatalf("latency %v, want at least 1ms", a.hist.Max())
	}
}

// Scanning allocates nothing once the bitset is large enough.
func TestAccountScanAllocs(t *testing.T) {
	var n atomic.Uint64
	a := newAccount(markerOf(newRunID()), &n)
	frame := appendPayload([]byte(`data: {"seq":1,"data":{"b":"`), a.marker, time.Now().UnixNano(), 1, 200)
	a.scan(frame) // grows the bitset
	if allocs := testing.AllocsPerRun(100, func() { a.scan(frame) }); allocs != 0 {
		t.Fatalf("%v allocations per scan", allocs)
	}
}
