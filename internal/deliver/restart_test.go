package deliver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/dialect/dialecttest"
)

// A restart cuts the streams open when it is made, at once: a WebSocket
// is closed as at a real shutdown (1001, going away), an SSE stream after
// its last whole event. Streams opened after it are left alone (the
// request pipeline answers 503 while it lasts).
func TestFaultRestartCutsOpenStreams(t *testing.T) { onWritePaths(t, testFaultRestartCutsOpenStreams) }

func testFaultRestartCutsOpenStreams(t *testing.T, p writePath) {
	c := newCore(t, p, dialecttest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws := dialWS(t, ctx, wsServer(t, c))
	base := sseServer(t, c, nativeStream)
	conn, br := openStream(t, base, "after=0", 0)
	waitFanout(t, c, 2)
	publish(t, c, 2, 10)
	if err := readSeqs(ctx, ws, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := readIDs(br, 0, 2); err != nil {
		t.Fatal(err)
	}
	addRule(t, c, `{"action":"restart","down":"1m"}`)
	_, _, err := ws.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("websocket after a restart: %v, want close 1001", err)
	}
	var ce websocket.CloseError
	if errors.As(err, &ce); ce.Reason != "server restarting" {
		t.Errorf("close reason %q", ce.Reason)
	}
	wantIDs(t, readToEnd(t, conn, br), 3, 2)

	conn, br = openStream(t, base, "after=2", 0)
	publish(t, c, 1, 10)
	if _, err := readIDs(br, 2, 3); err != nil {
		t.Fatal("a stream opened after the restart:", err)
	}
	if n := counter(c.Metrics.FaultsInjected.WithLabelValues("native", "restart")); n != 1 {
		t.Errorf("herald_faults_injected_total{native,restart} = %v, want 1", n)
	}
	if n := counter(c.Metrics.StreamsCut.WithLabelValues("test-ws", "fault")); n != 1 {
		t.Errorf("websocket cuts %v, want 1", n)
	}
	_ = conn
}
