package native_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/server"
)

// after=earliest starts at the oldest event retention kept, on the
// long-poll, SSE and WebSocket alike, where after=0 (the old idiom) is
// refused once retention removed anything.
func TestAfterEarliest(t *testing.T) {
	s := start(t, server.Config{RetentionBytes: 4 << 10})
	for i := 0; i < 10; i++ {
		s.do("POST", "/v1/events", s.admin, `[`+strings.Repeat(`{"topic":"app.fill","type":"x","data":"0123456789012345678901234567890123456789"},`, 9)+`{"topic":"app.fill","type":"x"}]`, nil)
	}
	// The hub's window follows the log's retention within a second: wait
	// until after=0 is refused, which tells the earliest event kept.
	var gone apiError
	deadline := time.Now().Add(10 * time.Second)
	for s.do("GET", "/v1/events?after=0", s.admin, "", &gone).StatusCode != 410 {
		if time.Now().After(deadline) {
			t.Fatal("position 0 never expired")
		}
		time.Sleep(50 * time.Millisecond)
	}
	earliest := gone.Error.Earliest
	if earliest <= 1 {
		t.Fatalf("earliest %d: retention removed nothing", earliest)
	}

	var poll pollResponse
	if r := s.do("GET", "/v1/events?after=earliest&limit=1", s.admin, "", &poll); r.StatusCode != 200 || len(poll.Events) != 1 || poll.Events[0].Seq != earliest {
		t.Fatalf("long-poll after=earliest: %d %+v; want the event at %d", r.StatusCode, poll, earliest)
	}

	frames, stop := openSSE(t, s, "/v1/stream?after=earliest", "")
	defer stop()
	if f := nextFrame(t, frames); f.id != strconv.FormatUint(earliest, 10) || f.event == "reset" {
		t.Fatalf("SSE after=earliest: first frame %+v; want the event at %d", f, earliest)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/v1/ws?after=earliest",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + s.admin}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, b, err := c.Read(ctx)
	var e event
	if err != nil || json.Unmarshal(b, &e) != nil || e.Seq != earliest {
		t.Fatalf("WebSocket after=earliest: %q, %v; want the event at %d", b, err, earliest)
	}

	// Anything else that is not a number is still refused.
	for _, v := range []string{"latest", "Earliest", "earliest-1"} {
		if r := s.do("GET", "/v1/events?after="+v, s.admin, "", nil); r.StatusCode != 400 {
			t.Errorf("after=%s: %d, want 400", v, r.StatusCode)
		}
	}
}
