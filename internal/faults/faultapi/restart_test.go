package faultapi_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/dialect/plex"
)

// untilBack repeats a request until it is answered other than 503 (the
// restart is over), and returns that answer.
func untilBack(t *testing.T, do func() answer) answer {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := do()
		if a.status != 503 || time.Now().After(deadline) {
			return a
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// retryAfter reads a Retry-After of whole seconds, 0 if none.
func retryAfter(a answer) int {
	n, _ := strconv.Atoi(a.header.Get("Retry-After"))
	return n
}

// A Hue bridge restarts: its event stream is cut, every request answers
// 503 in the bridge's shape with the seconds left as Retry-After, other
// dialects go on, and then the bridge is back with the same devices.
func TestRestartAHueBridge(t *testing.T) {
	s := newServer(t, withHue(t))
	appKey := http.Header{"Hue-Application-Key": {s.admin}}
	if a := s.call(t, "POST", "/v1/hue/devices", bearer(s.admin), `{"product":"color_lamp","name":"Desk"}`); a.status >= 300 {
		t.Fatalf("add a lamp: %d %s", a.status, a.raw)
	}
	before := s.call(t, "GET", "/clip/v2/resource/light", appKey, "")
	req, _ := http.NewRequest("GET", s.url+"/eventstream/clip/v2", nil)
	req.Header = appKey.Clone()
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("event stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	br.ReadString('\n') // the bridge's ": hi"

	id := s.addFault(t, `{"dialect":"hue","action":"restart","down":"2s"}`)
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, br); done <- err }()
	select {
	case <-done: // cut
	case <-time.After(10 * time.Second):
		t.Fatal("the event stream was not cut")
	}
	a := s.call(t, "GET", "/clip/v2/resource/light", appKey, "")
	if a.status != 503 || string(a.raw) != `{"errors":[{"description":"service unavailable"}],"data":[]}`+"\n" ||
		retryAfter(a) < 1 || retryAfter(a) > 2 || a.header.Get(dialect.FaultHeader) != id {
		t.Fatalf("hue while restarting: %d %v %s", a.status, a.header, a.raw)
	}
	if a := s.call(t, "GET", "/v1/events?after=0", bearer(s.admin), ""); a.status != 200 {
		t.Fatalf("native while hue restarts: %d %s", a.status, a.raw)
	}
	after := untilBack(t, func() answer { return s.call(t, "GET", "/clip/v2/resource/light", appKey, "") })
	if after.status != 200 || string(after.raw) != string(before.raw) {
		t.Fatalf("back up: %d %s, want the same lights %s", after.status, after.raw, before.raw)
	}
	if a := s.call(t, "GET", "/v1/faults/"+id, bearer(s.admin), ""); a.status != 404 {
		t.Errorf("the restart's rule after it is over: %d %s", a.status, a.raw)
	}
}

// A Plex server restarts: its WebSocket is closed with 1001 (going away,
// as herald's own shutdown closes it), reconnecting answers 503 until it
// is back, then the same token connects again.
func TestRestartAPlexServer(t *testing.T) {
	s := newServer(t, func(mux *http.ServeMux, c *dialecttest.Core) {
		p, err := plex.New(c.Core, plex.Config{})
		if err != nil {
			t.Fatal(err)
		}
		p.Mount(mux)
	})
	tok := s.call(t, "POST", "/v1/plex/tokens", bearer(s.admin), `{"name":"app"}`)
	if tok.status != 201 {
		t.Fatalf("token: %d %s", tok.status, tok.raw)
	}
	url := "ws" + strings.TrimPrefix(s.url, "http") + "/:/websocket/notifications?X-Plex-Token=" + tok.json["token"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	s.addFault(t, `{"dialect":"plex","action":"restart","down":"1s","retry_after":"1s"}`)
	_, _, err = ws.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
		t.Fatalf("plex websocket at a restart: %v, want close 1001", err)
	}
	_, resp, err := websocket.Dial(ctx, url, nil)
	if err == nil || resp == nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("reconnecting while down: %v %v", resp, err)
	}
	for {
		ws, resp, err = websocket.Dial(ctx, url, nil)
		if err == nil {
			break
		}
		if resp == nil || resp.StatusCode != 503 {
			t.Fatalf("reconnecting: %v %v", resp, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ws.CloseNow()
}

// slow_read reads a request's body at its rate: the request is served
// (the same event stored), later.
func TestSlowReadOfARequestBody(t *testing.T) {
	s := newServer(t, nil)
	id := s.addFault(t, `{"dialect":"native","action":"slow_read","rate":2000}`)
	body := `{"topic":"app.x","data":"` + strings.Repeat("x", 2000) + `"}`
	began := time.Now()
	a := s.call(t, "POST", "/v1/events", bearer(s.app), body)
	if a.status != 201 || a.header.Get(dialect.FaultHeader) != id {
		t.Fatalf("%d %v %s", a.status, a.header, a.raw)
	}
	// Over 2000 bytes at 2000 a second, 200 at once: no sooner than this.
	if took := time.Since(began); took < 900*time.Millisecond {
		t.Fatalf("the body was read in %v", took)
	}
	if n := counter(s.c.Metrics.FaultsInjected.WithLabelValues("native", "slow_read")); n != 1 {
		t.Errorf("slow_read injected %v times", n)
	}
	if a := s.call(t, "GET", "/v1/events?after=0", bearer(s.app), ""); !strings.Contains(string(a.raw), strings.Repeat("x", 2000)) {
		t.Fatalf("stored: %s", a.raw)
	}
}
