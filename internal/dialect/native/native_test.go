package native_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/server"
)

type publishResponse struct {
	Events []struct {
		Seq       uint64    `json:"seq"`
		ID        string    `json:"id"`
		Time      time.Time `json:"time"`
		Duplicate bool      `json:"duplicate"`
	} `json:"events"`
}

type pollResponse struct {
	Events []event `json:"events"`
	Next   uint64  `json:"next"`
}

func TestPublishAndLongPoll(t *testing.T) {
	s := start(t, server.Config{})
	var pub publishResponse
	r := s.do("POST", "/v1/events", s.admin, `{"topic":"app.door.front","type":"opened","data":{"by":"alice"}}`, &pub)
	if r.StatusCode != 201 || len(pub.Events) != 1 || pub.Events[0].Seq != 1 || pub.Events[0].ID == "" {
		t.Fatalf("publish: %d %+v", r.StatusCode, pub)
	}
	r = s.do("POST", "/v1/events", s.admin, `[{"topic":"app.a","type":"x","data":1},{"topic":"hue.b","data":[1, 2]}]`, &pub)
	if r.StatusCode != 201 || len(pub.Events) != 2 || pub.Events[1].Seq != 3 {
		t.Fatalf("publish array: %d %+v", r.StatusCode, pub)
	}

	var poll pollResponse
	s.do("GET", "/v1/events?after=0", s.admin, "", &poll)
	if len(poll.Events) != 3 || poll.Next != 3 {
		t.Fatalf("poll all: %+v", poll)
	}
	e := poll.Events[0]
	if e.Topic != "app.door.front" || e.Type != "opened" || string(e.Data) != `{"by":"alice"}` || e.Seq != 1 {
		t.Fatalf("event 1 = %+v", e)
	}
	if poll.Events[2].Type != "event" || string(poll.Events[2].Data) != "[1,2]" {
		t.Fatalf("defaults/compaction: %+v", poll.Events[2])
	}
	s.do("GET", "/v1/events?after=0&topics=app.>&limit=1", s.admin, "", &poll)
	if len(poll.Events) != 1 || poll.Events[0].Seq != 1 || poll.Next != 1 {
		t.Fatalf("poll limit 1: %+v", poll)
	}

	// A long-poll answers as soon as an event arrives.
	done := make(chan pollResponse)
	go func() {
		var p pollResponse
		s.do("GET", "/v1/events?after=3&topics=app.late&wait=30s", s.admin, "", &p)
		done <- p
	}()
	time.Sleep(100 * time.Millisecond)
	s.do("POST", "/v1/events", s.admin, `{"topic":"app.other","type":"x"}`, nil)
	s.do("POST", "/v1/events", s.admin, `{"topic":"app.late","type":"x"}`, nil)
	select {
	case p := <-done:
		if len(p.Events) != 1 || p.Events[0].Seq != 5 || p.Next != 5 {
			t.Fatalf("long-poll got %+v", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long-poll did not answer")
	}
	// Nothing new: an empty answer after the wait, next unchanged or beyond.
	s.do("GET", "/v1/events?after=5&wait=50ms", s.admin, "", &poll)
	if len(poll.Events) != 0 || poll.Next != 5 {
		t.Fatalf("empty long-poll: %+v", poll)
	}
}

func TestPublishIDDeduplicates(t *testing.T) {
	s := start(t, server.Config{})
	var a, b publishResponse
	s.do("POST", "/v1/events", s.admin, `{"id":"order-1","topic":"app.orders","type":"created"}`, &a)
	s.do("POST", "/v1/events", s.admin, `{"id":"order-1","topic":"app.orders","type":"created"}`, &b)
	if a.Events[0].Seq != b.Events[0].Seq || !b.Events[0].Duplicate || a.Events[0].Duplicate {
		t.Fatalf("retry stored twice: %+v then %+v", a, b)
	}
	var poll pollResponse
	s.do("GET", "/v1/events?after=0", s.admin, "", &poll)
	if len(poll.Events) != 1 {
		t.Fatalf("%d events stored", len(poll.Events))
	}
}

func openSSE(t *testing.T, s *testServer, path, lastID string) (<-chan sseFrame, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.admin)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return readSSE(resp.Body), func() { cancel(); resp.Body.Close() }
}

func nextFrame(t *testing.T, ch <-chan sseFrame) sseFrame {
	t.Helper()
	select {
	case f, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame in 10s")
	}
	return sseFrame{}
}

func TestSSEAndResume(t *testing.T) {
	s := start(t, server.Config{})
	for i := 0; i < 3; i++ {
		s.do("POST", "/v1/events", s.admin, fmt.Sprintf(`{"topic":"app.x","type":"n%d","data":%d}`, i, i), nil)
	}
	ch, stop := openSSE(t, s, "/v1/stream?after=0&topics=app.>", "")
	for i := 1; i <= 3; i++ {
		f := nextFrame(t, ch)
		var e event
		if err := json.Unmarshal([]byte(f.data), &e); err != nil {
			t.Fatal(err)
		}
		if f.id != fmt.Sprint(i) || f.event != fmt.Sprintf("n%d", i-1) || e.Seq != uint64(i) {
			t.Fatalf("frame %d = %+v", i, f)
		}
	}
	s.do("POST", "/v1/events", s.admin, `{"topic":"app.x","type":"live"}`, nil)
	if f := nextFrame(t, ch); f.id != "4" || f.event != "live" {
		t.Fatalf("live frame = %+v", f)
	}
	stop()
	// Events published while disconnected arrive after a reconnect with
	// Last-Event-ID, and nothing before it again.
	s.do("POST", "/v1/events", s.admin, `{"topic":"app.x","type":"missed"}`, nil)
	ch, stop = openSSE(t, s, "/v1/stream?after=0&topics=app.>", "4")
	defer stop()
	if f := nextFrame(t, ch); f.id != "5" || f.event != "missed" {
		t.Fatalf("resumed frame = %+v", f)
	}
}

func TestSSEKeepAliveAndShutdown(t *testing.T) {
	s := start(t, server.Config{})
	req, _ := http.NewRequest("GET", s.URL+"/v1/stream?access_token="+s.admin, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, _ := resp.Body.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "retry: 2000") {
		t.Fatalf("stream starts with %q", buf[:n])
	}
	// Shutdown ends the stream instead of hanging until its timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an open stream: %v", err)
	}
}

func TestWebSocket(t *testing.T) {
	s := start(t, server.Config{})
	s.do("POST", "/v1/events", s.admin, `{"topic":"app.x","type":"a"}`, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(s.URL, "http") + "/v1/ws?after=0&topics=app.>"
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + s.admin}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	s.do("POST", "/v1/events", s.admin, `{"topic":"other.y","type":"skip"}`, nil)
	s.do("POST", "/v1/events", s.admin, `{"topic":"app.z","type":"b","data":{"k":true}}`, nil)
	for _, want := range []event{{Seq: 1, Type: "a", Topic: "app.x"}, {Seq: 3, Type: "b", Topic: "app.z"}} {
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var e event
		if err := json.Unmarshal(b, &e); err != nil || typ != websocket.MessageText {
			t.Fatalf("frame %q: %v", b, err)
		}
		if e.Seq != want.Seq || e.Type != want.Type || e.Topic != want.Topic {
			t.Fatalf("got %+v, want %+v", e, want)
		}
	}
	// The client's pong arrives through a concurrent reader.
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.Read(ctx)
	}()
	err = c.Ping(ctx)
	c.CloseNow()
	<-readDone
	if err != nil {
		t.Fatalf("ping not answered: %v", err)
	}
	// Without a key, the upgrade is refused before it happens.
	_, resp, err := websocket.Dial(ctx, wsURL, nil)
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("dial without key: %v %v", resp, err)
	}
}
