package server_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// plexToken makes a Plex token on h.
func (h *hop) plexToken(name string) string {
	h.t.Helper()
	var tok struct{ Token string }
	h.admin("POST", "/v1/plex/tokens", `{"name":"`+name+`"}`, &tok)
	return tok.Token
}

// scan simulates a library scan upstream and returns how many
// notifications it made.
func (h *hop) scan(items int) int {
	h.t.Helper()
	var res struct{ Events int }
	h.admin("POST", "/v1/plex/simulate/scan", fmt.Sprintf(`{"section":"Movies","items":%d}`, items), &res)
	return res.Events
}

// plexFrames reads h's notification WebSocket from the start of the log
// until it has want frames, and checks that no more come for a while.
func (h *hop) plexFrames(token string, want int) []string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(h.URL(), "http", "ws", 1)+"/:/websockets/notifications?after=earliest",
		&websocket.DialOptions{HTTPHeader: http.Header{"X-Plex-Token": {token}}})
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.CloseNow()
	var got []string
	for len(got) < want {
		_, b, err := c.Read(ctx)
		if err != nil {
			h.t.Fatalf("after %d of %d frames: %v", len(got), want, err)
		}
		got = append(got, string(b))
	}
	qctx, qcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer qcancel()
	if _, b, err := c.Read(qctx); err == nil {
		h.t.Fatalf("a frame more than the %d expected: %s", want, b)
	}
	return got
}

func plexPair(t *testing.T) (up, down *hop) {
	up, down = startHop(t), startHop(t)
	down.admin("POST", "/v1/connectors", `{"name":"pms","kind":"plex","url":"`+up.URL()+`","key":"`+up.plexToken("connector")+`"}`, nil)
	waitConnected(t, down, "pms", 0)
	return up, down
}

// waitConnected waits until the connector is connected after more than
// reconnects reconnections.
func waitConnected(t *testing.T, h *hop, name string, reconnects uint64) {
	t.Helper()
	eventually(t, 30*time.Second, func() string {
		if v := h.connector(name); !v.State.Connected || v.State.Reconnects < reconnects {
			return fmt.Sprintf("not connected: %+v", v.State)
		}
		return ""
	})
}

// waitDisconnected waits until the connector noticed its upstream went.
func waitDisconnected(t *testing.T, h *hop, name string) {
	t.Helper()
	eventually(t, 30*time.Second, func() string {
		if v := h.connector(name); v.State.Connected {
			return "still connected"
		}
		return ""
	})
}

// waitIngested waits until the connector has stored n events.
func waitIngested(t *testing.T, h *hop, name string, n int) {
	t.Helper()
	eventually(t, 30*time.Second, func() string {
		if v := h.connector(name); v.State.Events != uint64(n) {
			return fmt.Sprintf("%d of %d events ingested: %+v", v.State.Events, n, v.State)
		}
		return ""
	})
}

// Notifications made upstream are served downstream from the log, frame
// for frame as the upstream sends them, once each, across an upstream
// restart and a downstream restart; the rest of the Plex API is the
// upstream's.
func TestPlexConnector(t *testing.T) {
	up, down := plexPair(t)
	upTok, downTok := up.plexToken("witness"), down.plexToken("client")
	n := up.scan(3)
	waitIngested(t, down, "pms", n)
	up.Stop()
	waitDisconnected(t, down, "pms")
	up.Start()
	waitConnected(t, down, "pms", 1)
	n += up.scan(2)
	waitIngested(t, down, "pms", n)
	down.Restart()
	waitConnected(t, down, "pms", 0)
	n += up.scan(2)
	waitIngested(t, down, "pms", n)
	upstream := up.plexFrames(upTok, n)
	if got := down.plexFrames(downTok, n); !slices.Equal(got, upstream) {
		t.Fatalf("downstream served\n%s\nupstream sent\n%s", strings.Join(got, "\n"), strings.Join(upstream, "\n"))
	}

	// The server's identity and everything but notifications are the
	// upstream's.
	var upID, downID struct {
		MediaContainer struct{ MachineIdentifier string }
	}
	json := http.Header{"Accept": {"application/json"}}
	request(t, nil, "GET", up.URL()+"/identity", json, "", &upID)
	request(t, nil, "GET", down.URL()+"/identity", json, "", &downID)
	if upID.MediaContainer.MachineIdentifier == "" || downID != upID {
		t.Fatalf("downstream identity %+v, upstream %+v", downID, upID)
	}
	json.Set("X-Plex-Token", downTok)
	request(t, nil, "GET", down.URL()+"/", json, "", &downID)
	if downID != upID {
		t.Fatalf("downstream root %+v, upstream %+v", downID, upID)
	}
}
