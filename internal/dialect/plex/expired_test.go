package plex

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A resume position older than retention: SSE says so with a reset event
// whose id is past the gap (a reconnect does not loop) and goes on from the
// earliest event; the WebSocket closes with 4410.
func TestExpiredPosition(t *testing.T) {
	e, first := retentionEnv(t)

	// The hub's window follows retention within a second: retry until the
	// stream reports the gap.
	var reset sseFrame
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, ch := e.sse("X-Plex-Token="+e.token+"&filters=&after=0", "Accept: text/event-stream")
		if resp.StatusCode != 200 {
			t.Fatalf("sse: %d", resp.StatusCode)
		}
		f := nextFrame(t, ch)
		if f.event == "reset" {
			reset = f
			next := nextFrame(t, ch)
			if next.id != strconv.FormatUint(first, 10) {
				t.Fatalf("after the reset came %+v, want id %d", next, first)
			}
			resp.Body.Close()
			break
		}
		resp.Body.Close()
		if time.Now().After(deadline) {
			t.Fatalf("no reset; first frame %+v", f)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var body struct{ After, Earliest uint64 }
	if err := json.Unmarshal([]byte(reset.data), &body); err != nil || body.Earliest != first || body.After != 0 {
		t.Fatalf("reset data %q: %v", reset.data, err)
	}
	if reset.id != strconv.FormatUint(first-1, 10) {
		t.Fatalf("reset id %q, want %d", reset.id, first-1)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := e.dial("/:/websocket/notifications?X-Plex-Token="+e.token+"&after=0", nil)
	_, _, err := conn.Read(ctx)
	if websocket.CloseStatus(err) != statusPositionExpired || !strings.Contains(err.Error(), "earliest") {
		var ce websocket.CloseError
		errors.As(err, &ce)
		t.Fatalf("websocket after an expired position: %v (%+v)", err, ce)
	}
}
