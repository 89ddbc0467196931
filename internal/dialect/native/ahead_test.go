package native_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/server"
)

// A position past the end of the log (the server was wiped or replaced)
// is said, in every read path, instead of waiting for numbers the log
// already holds under other events — or, for an ack, silently moving the
// subscription past events not yet published.
func TestPositionAheadOfTheLog(t *testing.T) {
	s := start(t, server.Config{})
	for range 3 {
		s.do("POST", "/v1/events", s.admin, `{"topic":"app.x","type":"t"}`, nil)
	}
	const last = 3

	t.Run("long-poll", func(t *testing.T) {
		var e aheadError
		r := s.do("GET", "/v1/events?after=999&wait=5s", s.admin, "", &e)
		if r.StatusCode != 409 || e.Error.Code != "position_ahead" || e.Error.Last == nil || *e.Error.Last != last {
			t.Fatalf("after=999: %d %+v", r.StatusCode, e)
		}
		// The log's own last position is no error.
		if r := s.do("GET", "/v1/events?after=3", s.admin, "", nil); r.StatusCode != 200 {
			t.Fatalf("after=3: %d", r.StatusCode)
		}
	})
	t.Run("sse", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/v1/stream", nil)
		req.Header.Set("Authorization", "Bearer "+s.admin)
		req.Header.Set("Last-Event-ID", "1000")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		f, ok := <-readSSE(resp.Body)
		if !ok || f.event != "reset" || f.id != "" {
			t.Fatalf("first frame %+v", f)
		}
		var body struct{ After, Last uint64 }
		if err := json.Unmarshal([]byte(f.data), &body); err != nil || body.After != 1000 || body.Last != last {
			t.Fatalf("reset %q: %v", f.data, err)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, strings.Replace(s.URL, "http", "ws", 1)+"/v1/ws?after=50",
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + s.admin}}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var m struct{ Reset struct{ After, Last uint64 } }
		if err := json.Unmarshal(msg, &m); err != nil || m.Reset.After != 50 || m.Reset.Last != last {
			t.Fatalf("message %q: %v", msg, err)
		}
		if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Fatalf("after the reset: %v", err)
		}
	})
	t.Run("subscription", func(t *testing.T) {
		var e aheadError
		if r := s.do("PUT", "/v1/subscriptions/late", s.admin, `{"start":"10"}`, &e); r.StatusCode != 409 || e.Error.Code != "position_ahead" {
			t.Fatalf("start past the end: %d %+v", r.StatusCode, e)
		}
		if r := s.do("PUT", "/v1/subscriptions/s", s.admin, `{"start":"earliest"}`, nil); r.StatusCode != 201 {
			t.Fatalf("create: %d", r.StatusCode)
		}
		e = aheadError{}
		if r := s.do("POST", "/v1/subscriptions/s/ack", s.admin, `{"upto":999999999}`, &e); r.StatusCode != 409 || e.Error.Code != "position_ahead" || *e.Error.Last != last {
			t.Fatalf("ack past the end: %d %+v", r.StatusCode, e)
		}
		var v struct{ Position uint64 }
		s.do("GET", "/v1/subscriptions/s", s.admin, "", &v)
		if v.Position != 0 {
			t.Fatalf("the refused ack moved the subscription to %d", v.Position)
		}
		if r := s.do("POST", "/v1/subscriptions/s/ack", s.admin, `{"upto":3}`, nil); r.StatusCode != 200 {
			t.Fatalf("ack up to the end: %d", r.StatusCode)
		}
	})
}

type aheadError struct {
	Error struct {
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Last    *uint64 `json:"last"`
	} `json:"error"`
}
