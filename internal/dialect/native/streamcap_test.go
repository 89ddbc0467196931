package native_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/server"
)

// A key that has as many streams open as it may gets 429 too_many_streams
// for one more, over SSE and WebSocket alike; its open streams go on, and
// so do other keys'.
func TestStreamsPerKeyCap(t *testing.T) {
	s := start(t, server.Config{StreamsPerKey: 2})
	key := s.createKey(`{"name":"dashboard","subscribe":["app.>"]}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	sse := open("/v1/stream?topics=app.>")
	defer sse.Body.Close()
	wsURL := "ws" + strings.TrimPrefix(s.URL, "http") + "/v1/ws?topics=app.>"
	auth := &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + key}}}
	ws, _, err := websocket.Dial(ctx, wsURL, auth)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if sse.StatusCode != http.StatusOK {
		t.Fatalf("under the cap: %d", sse.StatusCode)
	}

	refused := func(transport string, resp *http.Response) {
		t.Helper()
		var e apiError
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusTooManyRequests || json.Unmarshal(b, &e) != nil || e.Error.Code != "too_many_streams" {
			t.Fatalf("%s over the cap: %d %q, want 429 too_many_streams", transport, resp.StatusCode, b)
		}
	}
	third := open("/v1/stream?topics=app.>")
	refused("SSE", third)
	third.Body.Close()
	_, resp, err := websocket.Dial(ctx, wsURL, auth)
	if err == nil || resp == nil {
		t.Fatalf("WebSocket over the cap: %v %v, want 429", resp, err)
	}
	refused("WebSocket", resp)

	// The open streams still deliver, and the admin key is not this key.
	s.do("POST", "/v1/events", s.admin, `{"topic":"app.x","type":"after"}`, nil)
	if f := nextFrame(t, readSSE(sse.Body)); f.event != "after" {
		t.Fatalf("SSE after the refusals: %+v", f)
	}
	if _, b, err := ws.Read(ctx); err != nil || !strings.Contains(string(b), `"after"`) {
		t.Fatalf("WebSocket after the refusals: %q %v", b, err)
	}
	_, stop := openSSE(t, s, "/v1/stream?topics=app.>", "")
	stop()
}
