package faultapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/dialect"
)

// status answers 429 or 503, with Retry-After, in the native shape, before
// the handler runs; reject_key answers 401 as for a wrong key. Each only
// for the dialect and key it names.
func TestStatusAndRejectThroughTheNativeAPI(t *testing.T) {
	s := newServer(t, nil)
	app, admin := bearer(s.app), bearer(s.admin)

	id := s.addFault(t, `{"dialect":"native","action":"status","status":429,"retry_after":"7s","key":"`+s.appID+`"}`)
	a := s.call(t, "POST", "/v1/events", app, `{"topic":"app.x"}`)
	if a.status != 429 || a.header.Get("Retry-After") != "7" || a.errCode() != "rate_limited" || a.header.Get(dialect.FaultHeader) != id {
		t.Fatalf("429: %d %v %s", a.status, a.header, a.raw)
	}
	if a := s.call(t, "POST", "/v1/events", admin, `{"topic":"app.x"}`); a.status != 201 {
		t.Fatalf("another key: %d %s", a.status, a.raw)
	}
	s.clearFaults(t)

	s.addFault(t, `{"dialect":"native","action":"status","status":503}`)
	a = s.call(t, "GET", "/v1/events?after=0", app, "")
	if a.status != 503 || a.header.Get("Retry-After") != "1" || a.errCode() != "unavailable" {
		t.Fatalf("503: %d %v %s", a.status, a.header, a.raw)
	}
	// The Go client sees a temporary error with the server's hint.
	_, _, err := client.New(s.url, s.app).Poll(context.Background(), client.PollOptions{})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 503 || !ae.Temporary() || ae.RetryAfter != time.Second {
		t.Fatalf("client: %v", err)
	}
	s.clearFaults(t)

	s.addFault(t, `{"action":"reject_key","key":"`+s.appID+`"}`)
	a = s.call(t, "GET", "/v1/events?after=0", app, "")
	if a.status != 401 || a.errCode() != "unauthorized" || !strings.Contains(a.header.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatalf("reject_key: %d %v %s", a.status, a.header, a.raw)
	}
	if _, err := client.New(s.url, s.app).Publish(context.Background(), client.Draft{Topic: "app.x"}); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("client publish with a rejected key: %v", err)
	}
	if a := s.call(t, "GET", "/v1/events?after=0", admin, ""); a.status != 200 {
		t.Fatalf("another key: %d %s", a.status, a.raw)
	}
	s.clearFaults(t)
	if a := s.call(t, "GET", "/v1/events?after=0", app, ""); a.status != 200 {
		t.Fatalf("after clearing: %d %s", a.status, a.raw)
	}
	if n := counter(s.c.Metrics.FaultsInjected.WithLabelValues("native", "status")); n != 3 {
		t.Errorf("herald_faults_injected_total{native,status} = %v, want 3", n)
	}
}

// delay holds a request, then lets it through.
func TestDelayThroughTheNativeAPI(t *testing.T) {
	s := newServer(t, nil)
	s.addFault(t, `{"dialect":"native","action":"delay","delay":"400ms"}`)
	began := time.Now()
	a := s.call(t, "POST", "/v1/events", bearer(s.app), `{"topic":"app.x"}`)
	if took := time.Since(began); a.status != 201 || took < 400*time.Millisecond { // a timer never fires early
		t.Fatalf("%d after %v, want 201 after at least 400ms", a.status, took)
	}
}

// The example: each native stream is cut after 3 events, and the
// Go client resumes exactly across the cuts: every event once, in order.
func TestCutStreamGoClientResumesExactly(t *testing.T) {
	s := newServer(t, nil)
	s.addFault(t, `{"dialect":"native","action":"cut_stream","after_events":3}`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub := client.New(s.url, s.app)
	const events = 20
	for i := range events / 2 {
		if _, err := pub.Publish(ctx, client.Draft{Topic: "app.x", ID: fmt.Sprintf("e%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	reconnects := 0
	zero := uint64(0)
	st := client.New(s.url, s.app).Stream(ctx, client.StreamOptions{
		Topics: []string{"app.>"}, After: &zero,
		OnRetry: func(error, time.Duration) { reconnects++ },
	})
	defer st.Close()
	for i := range events {
		if i == events/2 { // the rest arrive live, to caught-up streams
			go func() {
				for j := events / 2; j < events; j++ {
					if _, err := pub.Publish(ctx, client.Draft{Topic: "app.x", ID: fmt.Sprintf("e%d", j)}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		ev, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("event %d: %v", i+1, err)
		}
		if ev.Seq != uint64(i+1) || ev.ID != fmt.Sprintf("e%d", i) {
			t.Fatalf("event %d is seq %d id %s", i+1, ev.Seq, ev.ID)
		}
	}
	// Cut after events 3, 6, … 18; the stream with 19 and 20 stays open.
	if cuts := counter(s.c.Metrics.StreamsCut.WithLabelValues("sse", "fault")); reconnects != events/3 || cuts != events/3 {
		t.Fatalf("%d reconnections, %v cuts; want %d", reconnects, cuts, events/3)
	}
}

// A native WebSocket is cut the same way: after whole frames, without a
// closing handshake, as a dropped connection would be.
func TestCutStreamWebSocket(t *testing.T) {
	s := newServer(t, nil)
	s.addFault(t, `{"dialect":"native","action":"cut_stream","after_events":2}`)
	for range 5 {
		s.call(t, "POST", "/v1/events", bearer(s.app), `{"topic":"app.x"}`)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(s.url, "http", "ws", 1)+"/v1/ws?after=0",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + s.app}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i := range 2 {
		if _, msg, err := c.Read(ctx); err != nil || !strings.Contains(string(msg), fmt.Sprintf(`"seq":%d`, i+1)) {
			t.Fatalf("frame %d: %s %v", i+1, msg, err)
		}
	}
	_, msg, err := c.Read(ctx)
	if err == nil || ctx.Err() != nil || websocket.CloseStatus(err) != -1 {
		t.Fatalf("after 2 frames: %s %v, want the connection dropped", msg, err)
	}
}
