package zulip

import (
	"strings"
	"testing"
)

// TestRenderCache: a message is built once however often it is asked for,
// and the cache holds about its limit: the older generation goes when the
// newer fills, and an entry asked for again moves to the newer.
func TestRenderCache(t *testing.T) {
	c := newRenderCache(4 << 10)
	builds := map[uint64]int{}
	get := func(seq uint64) *renderedMessage {
		return c.get(seq, func() *renderedMessage {
			builds[seq]++
			return &renderedMessage{html: strings.Repeat("x", 200)}
		})
	}
	first := get(1)
	for range 5 {
		if get(1) != first {
			t.Fatal("a second rendering of the same message")
		}
	}
	if builds[1] != 1 {
		t.Fatalf("built %d times", builds[1])
	}
	for seq := uint64(2); seq < 200; seq++ {
		get(seq)
		get(1) // kept in use: never dropped
		if held := len(c.cur) + len(c.old); held > 2*(4<<10)/(200+64)+2 {
			t.Fatalf("seq %d: %d entries held, over the limit", seq, held)
		}
	}
	if builds[1] != 1 || builds[2] != 1 {
		t.Fatalf("builds: %d of the message in use, %d of the oldest", builds[1], builds[2])
	}
	get(2) // dropped long ago: built again
	if builds[2] != 2 {
		t.Fatalf("the oldest message was kept (%d builds)", builds[2])
	}
}
