package hue

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
)

// batch makes hub events with the given sequences, as a stream gets them.
func batch(seqs ...uint64) []*hub.Event {
	evs := make([]*hub.Event, len(seqs))
	for i, s := range seqs {
		evs[i] = &hub.Event{Event: eventlog.Event{
			Seq: s, ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", s), Time: time.Unix(1700000000+int64(s), 0),
			Topic: "hue.light.1e3d9a73-7069-40ed-a889-051763348737", Type: "update",
			Data: fmt.Appendf(nil, `{"id":"1e3d9a73-7069-40ed-a889-051763348737","type":"light","dimming":{"brightness":%d}}`, s%100),
		}}
	}
	return evs
}

// built is what Frames built before the cache: one message per
// maxMessageEvents events.
func built(f *hub.Format, evs []*hub.Event) [][]byte {
	var out [][]byte
	for rest := evs; len(rest) > 0; {
		n := min(len(rest), maxMessageEvents)
		out = append(out, appendMessage(nil, f, rest[:n]))
		rest = rest[n:]
	}
	return out
}

func sameFrames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestMessageCache: streams that get the same batch get the same bytes,
// built once; any other batch — even with the same ends and count, as a
// stream with another filter could get — gets its own message.
func TestMessageCache(t *testing.T) {
	b := newBridge(t, Config{})
	f := b.api.evFmt
	long := make([]uint64, maxMessageEvents+3)
	for i := range long {
		long[i] = uint64(100 + i)
	}
	for _, tc := range []struct {
		name        string
		first, then []*hub.Event
		shared      bool
	}{
		{"same batch", batch(1, 2, 3), batch(1, 2, 3), true},
		{"one event", batch(7), batch(7), true},
		{"split into messages", batch(long...), batch(long...), true},
		{"same ends and count, other middle", batch(1, 2, 5), batch(1, 3, 5), false},
		{"a prefix", batch(1, 2, 3), batch(1, 2), false},
		{"a longer batch", batch(1, 2), batch(1, 2, 3), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c msgCache
			got1 := c.frames(nil, f, tc.first)
			got2 := c.frames([][]byte{[]byte("kept")}, f, tc.then)
			if string(got2[0]) != "kept" {
				t.Fatal("dst not appended to")
			}
			got2 = got2[1:]
			if !sameFrames(got1, built(f, tc.first)) || !sameFrames(got2, built(f, tc.then)) {
				t.Fatalf("frames differ from the messages of the batch:\n%q\n%q", got1, got2)
			}
			if shared := &got1[0][0] == &got2[0][0]; shared != tc.shared {
				t.Fatalf("bytes shared: %v, want %v", shared, tc.shared)
			}
		})
	}
	if got := (&msgCache{}).frames(nil, f, nil); len(got) != 0 {
		t.Fatalf("no events: %q", got)
	}
}

// TestMessageCacheConcurrent: fan-out workers on the same and on
// different batches at once always get their batch's message (run with
// -race: the cache is shared without locks).
func TestMessageCacheConcurrent(t *testing.T) {
	b := newBridge(t, Config{})
	f := b.api.evFmt
	batches := [][]*hub.Event{batch(1, 2), batch(3), batch(4, 5, 6), batch(5, 6), batch(9), batch(1, 2, 9)}
	want := make([][][]byte, len(batches))
	for i, evs := range batches {
		want[i] = built(f, evs)
	}
	var c msgCache
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for w := range 8 {
		wg.Go(func() {
			var dst [][]byte
			for i := range 2000 {
				k := (i*(w+1) + w) % len(batches)
				dst = c.frames(dst[:0], f, batches[k])
				if !sameFrames(dst, want[k]) {
					errs <- fmt.Sprintf("worker %d batch %d: %q", w, k, dst)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
