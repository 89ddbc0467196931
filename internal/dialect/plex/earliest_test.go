package plex

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
)

// ?after=earliest starts at the oldest event retention kept: no reset, the
// first frame is that event, on SSE and the WebSocket.
func TestAfterEarliest(t *testing.T) {
	e, first := retentionEnv(t)

	// The hub's window follows retention within a second: until it has,
	// "earliest" is an older event.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, ch := e.sse("X-Plex-Token="+e.token+"&filters=&after=earliest", "Accept: text/event-stream")
		if resp.StatusCode != 200 {
			t.Fatalf("sse after=earliest: %d", resp.StatusCode)
		}
		f := nextFrame(t, ch)
		resp.Body.Close()
		if f.event == "reset" {
			t.Fatalf("sse after=earliest began with a reset: %+v", f)
		}
		if f.id == strconv.FormatUint(first, 10) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sse after=earliest: first frame %+v, want id %d", f, first)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := e.dial("/:/websocket/notifications?X-Plex-Token="+e.token+"&after=earliest", nil)
	defer conn.CloseNow()
	if _, b, err := conn.Read(ctx); err != nil || len(b) == 0 {
		t.Fatalf("websocket after=earliest: %q, %v; want the earliest event", b, err)
	}
}

// retentionEnv is a Plex API on a log that keeps 4 KiB, filled until
// retention removed events; first is the oldest event kept.
func retentionEnv(t *testing.T) (*env, uint64) {
	t.Helper()
	c := dialecttest.NewCore(t, dialecttest.Options{Log: eventlog.Config{MaxBytes: 4 << 10}})
	api, err := New(c.Core, Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, core: c, api: api}
	e.srv = c.Serve(t, api.Mount)
	e.token = c.Key(t, auth.Spec{Name: "plex", Dialect: Dialect, Subscribe: []string{"plex.>"}})
	for i := 0; i < 10; i++ {
		types := make([]string, 10)
		for j := range types {
			types[j] = "activity"
		}
		e.publish(types...)
	}
	first, _, err := c.Log.Bounds(context.Background())
	if err != nil || first <= 1 {
		t.Fatalf("retention removed nothing: first %d, %v", first, err)
	}
	return e, first
}
