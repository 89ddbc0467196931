package plex

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/eventlog"
)

// Every golden case, published to the log, arrives over both transports
// byte for byte as documented (with the real sequence as id).
func TestGoldenOverTransports(t *testing.T) {
	e := newEnv(t, Config{})
	cases := goldenCases(t)
	_, frames := e.sse("filters=", "X-Plex-Token: "+e.token)
	ws := e.dial("/:/websocket/notifications?filters=&X-Plex-Token="+e.token, nil)
	ds := make([]eventlog.Draft, len(cases))
	for i, c := range cases {
		ds[i] = eventlog.Draft{Topic: c.topic, Type: "x", Data: c.data}
	}
	seqs := e.appendDrafts(ds)
	for i, c := range cases {
		want := strings.Replace(c.sse, "id: 42\n", "id: "+strconv.FormatUint(seqs[i], 10)+"\n", 1)
		var got string
		for n := strings.Count(want, "\n\n"); n > 0; n-- {
			got += nextFrame(t, frames).raw
		}
		if got != want {
			t.Errorf("%s SSE:\n got %q\nwant %q", c.name, got, want)
		}
		raw, _ := readWS(t, ws)
		if string(raw) != c.ws {
			t.Errorf("%s WS:\n got %s\nwant %s", c.name, raw, c.ws)
		}
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, Config{})
	native := e.core.Key(t, auth.Spec{Name: "native", Subscribe: []string{">"}})
	paths := []string{"/:/eventsource/notifications", "/:/websocket/notifications", "/:/websockets/notifications", "/"}
	for _, path := range paths {
		for _, tt := range []struct {
			name, query, header string
			want                int
		}{
			{"no token", "", "", 401},
			{"wrong token", "?X-Plex-Token=hk_0000000000000000_nope", "", 401},
			{"malformed token", "?X-Plex-Token=abc", "", 401},
			{"wrong header token", "", "hk_0000000000000000_nope", 401},
			{"native key", "?X-Plex-Token=" + native, "", 401},
			{"bearer is not a plex token", "", "", 401},
		} {
			t.Run(path+" "+tt.name, func(t *testing.T) {
				var h []string
				if tt.header != "" {
					h = append(h, "X-Plex-Token: "+tt.header)
				}
				if tt.name == "bearer is not a plex token" {
					h = append(h, "Authorization: Bearer "+e.token)
				}
				// Upgrade headers, so a 401 is proved to come before the upgrade.
				if strings.Contains(path, "websocket") {
					h = append(h, "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
				}
				resp := e.get(path+tt.query, h...)
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
				}
			})
		}
	}
	// Query token, header token and an admin key all work.
	for _, path := range []string{"/:/websocket/notifications", "/:/websockets/notifications"} {
		if s := e.dialStatus(path + "?X-Plex-Token=" + e.token); s != 0 {
			t.Errorf("%s with token: %d", path, s)
		}
		if s := e.dialStatus(path); s != 401 {
			t.Errorf("%s without token: %d, want 401", path, s)
		}
	}
	e.dial("/:/websockets/notifications", http.Header{"X-Plex-Token": {e.admin}})
	if resp, _ := e.sse("", "X-Plex-Token: "+e.token); resp.StatusCode != 200 {
		t.Errorf("SSE with header token: %d", resp.StatusCode)
	}
}

func TestRateLimited(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.core.Key(t, auth.Spec{Name: "slow", Dialect: Dialect, Subscribe: []string{"plex.>"}, Rate: 0.001})
	var last *http.Response
	for range 5000 { // more than any burst
		last = e.get("/identity?X-Plex-Token=x") // open: not limited
		last.Body.Close()
		last = e.get("/?X-Plex-Token=" + tok)
		last.Body.Close()
		if last.StatusCode == 429 {
			break
		}
	}
	if last.StatusCode != 429 || last.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q, want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
	}
}

func TestScopedTokenForbidden(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.core.Key(t, auth.Spec{Name: "playing only", Dialect: Dialect, Subscribe: []string{"plex.playing"}})
	if resp, _ := e.sse("", "X-Plex-Token: "+tok); resp.StatusCode != 403 {
		t.Fatalf("default filter with a narrow token: %d, want 403", resp.StatusCode)
	}
	if resp, _ := e.sse("filters=playing", "X-Plex-Token: "+tok); resp.StatusCode != 200 {
		t.Fatalf("filters=playing with a playing token: %d, want 200", resp.StatusCode)
	}
}

func TestContentType(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tt := range []struct{ accept, want string }{
		{"", "text/event-stream"},
		{"text/event-stream", "text/event-stream"},
		{"application/octet-stream", "application/octet-stream"},
		{"application/json, application/octet-stream;q=0.9", "application/octet-stream"},
		{"application/octet-stream, text/event-stream", "text/event-stream"},
		{"*/*", "text/event-stream"},
	} {
		t.Run(tt.accept, func(t *testing.T) {
			h := []string{"X-Plex-Token: " + e.token}
			if tt.accept != "" {
				h = append(h, "Accept: "+tt.accept)
			}
			resp, frames := e.sse("", h...)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tt.want {
				t.Fatalf("%d %q, want %q", resp.StatusCode, resp.Header.Get("Content-Type"), tt.want)
			}
			// Same bytes either way.
			seq := e.publish("playing")[0]
			if f := nextFrame(t, frames); f.event != "playing" || f.id != strconv.FormatUint(seq, 10) {
				t.Fatalf("frame %+v", f)
			}
		})
	}
}

func TestBadFilterIs400(t *testing.T) {
	e := newEnv(t, Config{})
	for _, q := range []string{"filters=play*", "filter=a..b", "filters=playing,-log", "after=x", "after=-1"} {
		if resp, _ := e.sse(q + "&X-Plex-Token=" + e.token); resp.StatusCode != 400 {
			t.Errorf("SSE %s: %d, want 400", q, resp.StatusCode)
		}
		if s := e.dialStatus("/:/websocket/notifications?" + q + "&X-Plex-Token=" + e.token); s != 400 {
			t.Errorf("WS %s: %d, want 400", q, s)
		}
	}
}

// filterCases: a filters= value, the types it delivers out of filterInput
// in order, and a type it lets through, published afterwards as a marker:
// once the marker arrives, nothing else came between.
var filterCases = []struct {
	name, query string
	want        []string
	marker      string
}{
	{"default drops log", "", []string{"playing", "timeline", "activity", "transcodeSession.update", "playing"}, "status"},
	{"playing only", "filters=playing", []string{"playing", "playing"}, "playing"},
	{"plexjs singular", "filter=playing", []string{"playing", "playing"}, "playing"},
	{"empty is all", "filters=", []string{"playing", "log", "timeline", "activity", "transcodeSession.update", "log", "playing"}, "log"},
	{"all but two", "filters=-activity,log", []string{"playing", "timeline", "transcodeSession.update", "playing"}, "status"},
	{"two", "filters=log,timeline", []string{"log", "timeline", "log"}, "timeline"},
}

var filterInput = []string{"playing", "log", "timeline", "activity", "transcodeSession.update", "log", "playing"}

func (e *env) publishMarker(typ string) {
	e.t.Helper()
	e.appendDrafts([]eventlog.Draft{{Topic: TopicPrefix + typ, Type: typ, Data: json.RawMessage(`{"marker":true}`)}})
}

func TestFiltersSSE(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tt := range filterCases {
		t.Run(tt.name, func(t *testing.T) {
			_, frames := e.sse(tt.query, "X-Plex-Token: "+e.token)
			e.publish(filterInput...)
			e.publishMarker(tt.marker)
			for _, want := range tt.want {
				if f := nextFrame(t, frames); f.event != want || strings.Contains(f.data, "marker") {
					t.Fatalf("got %s %s, want %s", f.event, f.data, want)
				}
			}
			if f := nextFrame(t, frames); f.event != tt.marker || !strings.Contains(f.data, "marker") {
				t.Fatalf("got %s %s, want the marker", f.event, f.data)
			}
		})
	}
}

func TestFiltersWS(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tt := range filterCases {
		t.Run(tt.name, func(t *testing.T) {
			ws := e.dial("/:/websockets/notifications?"+tt.query, http.Header{"X-Plex-Token": {e.token}})
			e.publish(filterInput...)
			e.publishMarker(tt.marker)
			for i, want := range append(tt.want, tt.marker) {
				raw, nc := readWS(t, ws)
				if wsType(t, nc) != want || strings.Contains(string(raw), "marker") != (i == len(tt.want)) {
					t.Fatalf("frame %d: %s, want %s", i, raw, want)
				}
			}
		})
	}
}

// An EventSource that reconnects with Last-Event-ID misses nothing and
// gets nothing twice.
func TestSSEResume(t *testing.T) {
	e := newEnv(t, Config{})
	resp, frames := e.sse("filters=", "X-Plex-Token: "+e.token)
	seqs := e.publish("playing", "timeline", "activity")
	var last sseFrame
	for range 2 {
		last = nextFrame(t, frames)
	}
	resp.Body.Close() // disconnect after two
	more := e.publish("log", "playing")
	_, frames = e.sse("filters=", "X-Plex-Token: "+e.token, "Last-Event-ID: "+last.id)
	want := append(seqs[2:], more...)
	for _, seq := range want {
		if f := nextFrame(t, frames); f.id != strconv.FormatUint(seq, 10) {
			t.Fatalf("resumed frame id %s, want %d", f.id, seq)
		}
	}
	e.publish("status")
	if f := nextFrame(t, frames); f.event != "status" {
		t.Fatalf("after the backlog: %s", f.event)
	}
}

func TestWSAfter(t *testing.T) {
	e := newEnv(t, Config{})
	seqs := e.publish("playing", "timeline", "activity")
	ws := e.dial("/:/websocket/notifications?after="+strconv.FormatUint(seqs[0], 10), http.Header{"X-Plex-Token": {e.token}})
	for _, want := range []string{"timeline", "activity"} {
		if _, nc := readWS(t, ws); wsType(t, nc) != want {
			t.Fatalf("got %s, want %s", wsType(t, nc), want)
		}
	}
}

// Idle streams get Plex's heartbeat: event: ping, data: {} (no id), and a
// WebSocket ping the client answers.
func TestHeartbeat(t *testing.T) {
	e := newEnv(t, Config{Ping: time.Millisecond}) // often; the test waits for pings, never times them
	_, frames := e.sse("", "X-Plex-Token: "+e.token)
	f := <-frames
	if f.raw != "event: ping\ndata: {}\n\n" {
		t.Fatalf("heartbeat %q", f.raw)
	}
	// The server pings a WebSocket client and the client answers (while it
	// reads); the server answers the client's pings too (Tautulli,
	// plexwebsocket ping every 15 s); events flow all along.
	ws := e.dial("/:/websocket/notifications", http.Header{"X-Plex-Token": {e.token}})
	wsFrames := make(chan []byte, 16)
	go func() {
		defer close(wsFrames)
		for {
			_, b, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			wsFrames <- b
		}
	}()
	t.Cleanup(func() {
		ws.CloseNow()
		for range wsFrames {
		}
	})
	if err := ws.Ping(context.Background()); err != nil {
		t.Fatalf("server did not answer the client's ping: %v", err)
	}
	e.publish("playing")
	if b := <-wsFrames; !strings.Contains(string(b), `"type":"playing"`) {
		t.Fatalf("frame %s", b)
	}
}

// A shutdown ends streams: the SSE body ends, the WebSocket closes with
// "going away".
func TestShutdownEndsStreams(t *testing.T) {
	e := newEnv(t, Config{})
	resp, _ := e.sse("", "X-Plex-Token: "+e.token)
	ws := e.dial("/:/websocket/notifications", http.Header{"X-Plex-Token": {e.token}})
	e.core.Stop()
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("SSE body: %v", err)
	}
	_, _, err := ws.Read(context.Background())
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("WS read after shutdown: %v", err)
	}
}

// Streams are hub subscriptions: one each, no queue of their own.
func TestOneHubSubscriptionPerStream(t *testing.T) {
	e := newEnv(t, Config{})
	_, frames := e.sse("", "X-Plex-Token: "+e.token)
	e.dial("/:/websocket/notifications", http.Header{"X-Plex-Token": {e.token}})
	e.publish("playing")
	nextFrame(t, frames)
	if n := e.core.Hub.Subscribers(); n != 2 {
		t.Fatalf("%d hub subscribers, want 2", n)
	}
}

// A resume position past the log's end (the server's log was replaced) is
// said, not waited on: an EventSource gets a reset with the log's last
// position as its id and then what follows; a WebSocket is closed with
// 4409.
func TestPositionAhead(t *testing.T) {
	e := newEnv(t, Config{})
	seqs := e.publish("playing", "timeline")
	last := seqs[len(seqs)-1]
	_, frames := e.sse("filters=", "X-Plex-Token: "+e.token, "Last-Event-ID: 999")
	f := nextFrame(t, frames)
	want := fmt.Sprintf(`{"after":999,"last":%d}`, last)
	if f.event != "reset" || f.id != strconv.FormatUint(last, 10) || !strings.Contains(f.raw, want) {
		t.Fatalf("first frame %q, want a reset with id %d and %s", f.raw, last, want)
	}
	next := e.publish("activity")
	if f := nextFrame(t, frames); f.id != strconv.FormatUint(next[0], 10) {
		t.Fatalf("after the reset: %q", f.raw)
	}

	ws := e.dial("/:/websocket/notifications?after=999", http.Header{"X-Plex-Token": {e.token}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := ws.Read(ctx); websocket.CloseStatus(err) != 4409 {
		t.Fatalf("WebSocket after=999: %v", err)
	}
}
