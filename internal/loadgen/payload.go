package loadgen

import (
	"math/rand/v2"
	"strconv"
)

// Every event carries a token "~hb<run>~<send time, unix ns>~<sequence>~"
// in its payload. The characters are ones no dialect escapes or rewrites —
// in a JSON string, a form value, a Zulip message, an SSE data line or a
// URL — so a subscriber finds it by scanning the bytes it receives, without
// parsing any framing, wherever the server puts the payload. The run id
// keeps tokens of another run on the same server from being counted.

// tokenSep opens the marker and separates the token's fields. It appears in
// the marker only first and last, which keeps the scanner simple (see
// account.scan).
const tokenSep = '~'

// newRunID returns six random letters that tell this run's tokens, users
// and keys from other runs'.
func newRunID() string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 6)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

// markerOf returns "~hb<runID>~", the start of every token of the run.
func markerOf(runID string) []byte {
	return []byte(string(tokenSep) + "hb" + runID + string(tokenSep))
}

// appendPayload appends the token of event seq sent at sent (unix ns),
// then pad bytes of padding.
func appendPayload(b, marker []byte, sent int64, seq uint64, pad int) []byte {
	b = append(b, marker...)
	b = strconv.AppendInt(b, sent, 10)
	b = append(b, tokenSep)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, tokenSep)
	for range pad {
		b = append(b, 'x')
	}
	return b
}
