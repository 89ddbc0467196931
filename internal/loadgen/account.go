package loadgen

import (
	"bytes"
	"sync/atomic"
	"time"
)

// maxSeq bounds the sequence numbers an account accepts: a larger one is
// not this run's (a corrupted or foreign token) and would only grow the
// bitset.
const maxSeq = 1 << 32

// account is one subscriber's tally: which sequence numbers it received, how
// late, and which twice. Receivers feed it the raw bytes they read, in any
// pieces; it finds the tokens itself (see payload.go), so the same
// accounting serves every mode, and nothing is allocated per event.
type account struct {
	marker    []byte
	delivered *atomic.Uint64 // shared by all accounts: progress and drain
	hist      Histogram
	seen      []uint64 // bitset by sequence number
	got       uint64   // distinct events received
	dups      uint64   // events received again
	// A pull receiver counts its requests, and its answers that held
	// events (batches): what a delivery costs depends on how many a batch holds.
	requests, batches uint64

	// Scanner state, kept across calls so that a token may span two reads.
	// state < len(marker): that many marker bytes matched; == len(marker):
	// reading the send time; == len(marker)+1: reading the sequence number.
	state     int
	sent, seq uint64
	digits    int
}

func newAccount(marker []byte, delivered *atomic.Uint64) *account {
	return &account{marker: marker, delivered: delivered}
}

// scan finds the tokens in b, which continues what the previous call saw.
func (a *account) scan(b []byte) {
	m := len(a.marker)
	for len(b) > 0 {
		if a.state == 0 {
			i := bytes.IndexByte(b, a.marker[0])
			if i < 0 {
				return
			}
			b = b[i+1:]
			a.state = 1
			continue
		}
		c := b[0]
		if a.state < m {
			if c != a.marker[a.state] {
				// Not a marker. c is left for the next round: it may open
				// one, and since the marker's first byte appears in it only
				// at the end, no shorter match is lost.
				a.state = 0
				continue
			}
			b = b[1:]
			a.state++
			if a.state == m {
				a.sent, a.seq, a.digits = 0, 0, 0
			}
			continue
		}
		switch {
		case '0' <= c && c <= '9' && a.digits < 19:
			if a.state == m {
				a.sent = a.sent*10 + uint64(c-'0')
			} else {
				a.seq = a.seq*10 + uint64(c-'0')
			}
			a.digits++
			b = b[1:]
		case c == tokenSep && a.digits > 0:
			b = b[1:]
			if a.state == m {
				a.state, a.digits = m+1, 0
			} else {
				a.record(a.seq, int64(a.sent))
				a.state = 0
			}
		default:
			a.state = 0 // a malformed token; c is looked at again
		}
	}
}

// record counts event seq, sent at unix ns sent, once.
func (a *account) record(seq uint64, sent int64) {
	if seq == 0 || seq > maxSeq {
		return
	}
	w := int(seq >> 6)
	if w >= len(a.seen) {
		// Doubling keeps growth off the per-event path.
		a.seen = append(a.seen, make([]uint64, max(w+1, 2*len(a.seen))-len(a.seen))...)
	}
	bit := uint64(1) << (seq & 63)
	if a.seen[w]&bit != 0 {
		a.dups++
		return
	}
	a.seen[w] |= bit
	a.got++
	a.delivered.Add(1)
	a.hist.Add(max(0, time.Duration(time.Now().UnixNano()-sent)))
}
