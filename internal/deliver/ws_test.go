package deliver_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/topic"
)

// wsHandler serves ServeWS with one text frame per event: its sequence
// number.
func wsHandler(c *dialecttest.Core) http.HandlerFunc {
	f := c.Hub.RegisterFormat("test.ws", func(e *eventlog.Event) []byte {
		return framing.AppendWSText(nil, strconv.AppendUint(nil, e.Seq, 10))
	})
	all, _ := topic.ParseFilter("test.>")
	return func(w http.ResponseWriter, r *http.Request) {
		c.Deliver.ServeWS(w, r, deliver.WSStream{
			Transport: "test-ws",
			Sub:       c.Hub.Subscribe(0, all),
			Frame:     f,
			KeepAlive: time.Hour,
		})
	}
}

// wsServer serves wsHandler at /w.
func wsServer(t *testing.T, c *dialecttest.Core) string {
	t.Helper()
	h := wsHandler(c)
	srv := c.Serve(t, func(mux *http.ServeMux) { mux.Handle("GET /w", h) })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/w"
}

func dialWS(t *testing.T, ctx context.Context, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// readSeqs reads text frames until event want, checking that they come one
// after another from 1.
func readSeqs(ctx context.Context, ws *websocket.Conn, want uint64) error {
	for next := uint64(1); next <= want; next++ {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			return fmt.Errorf("before event %d: %w", next, err)
		}
		if typ != websocket.MessageText || string(b) != strconv.FormatUint(next, 10) {
			return fmt.Errorf("got %v %q, want event %d", typ, b, next)
		}
	}
	return nil
}

// WebSockets are served by the fan-out workers like SSE streams; clients
// that ping while events flow get their pongs without a frame of either
// being split, and every event once, in order. A client's close ends its
// stream on the server.
func TestWSFanoutWithPings(t *testing.T) { onWritePaths(t, testWSFanoutWithPings) }

func testWSFanoutWithPings(t *testing.T, p writePath) {
	c := newCore(t, p, dialecttest.Options{})
	url := wsServer(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const clients, events = 8, 400
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i] = dialWS(t, ctx, url)
	}
	waitFanout(t, c, clients)

	// Each client reads all the time (the library reads pongs only while
	// a Read runs); it reports when it has every event, in order.
	errs := make(chan error, 2*clients)
	var all sync.WaitGroup
	for _, ws := range conns {
		all.Add(1)
		go func() {
			err := readSeqs(ctx, ws, events)
			if err != nil {
				errs <- err
			}
			all.Done()
			for err == nil {
				_, _, err = ws.Read(ctx)
			}
		}()
	}
	// Pings stop on a flag, not by canceling their context: the library
	// closes a connection whose write is canceled.
	var stop atomic.Bool
	var pings sync.WaitGroup
	for _, ws := range conns {
		pings.Go(func() {
			for !stop.Load() {
				if err := ws.Ping(ctx); err != nil {
					errs <- fmt.Errorf("ping: %w", err)
					return
				}
			}
		})
	}
	for range events / 100 {
		publish(t, c, 100, 10)
		time.Sleep(5 * time.Millisecond)
	}
	all.Wait()
	stop.Store(true)
	pings.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if err := conns[0].Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close: %v", err)
	}
	waitFanout(t, c, clients-1)
}

// A data message from the client is refused with 1008, and shutdown
// closes every socket with 1001.
func TestWSDataMessageAndShutdown(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	url := wsServer(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	talker, quiet := dialWS(t, ctx, url), dialWS(t, ctx, url)
	waitFanout(t, c, 2)
	if err := talker.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := talker.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("after a data message: %v, want close 1008", err)
	}
	waitFanout(t, c, 1)
	publish(t, c, 1, 10)
	if err := readSeqs(ctx, quiet, 1); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	if _, _, err := quiet.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after shutdown: %v, want close 1001", err)
	}
}

// An idle WebSocket holds no goroutine on the server: the fan-out workers
// write to it and one poller watches every socket for what clients send
// (Linux; elsewhere each socket has a reader goroutine).
func TestWSIdleSocketsHoldNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poller is Linux's")
	}
	c := dialecttest.NewCore(t, dialecttest.Options{})
	url := wsServer(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dialWS(t, ctx, url) // starts the workers and the poller
	waitFanout(t, c, 1)
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	const sockets = 50
	for range sockets {
		dialWS(t, ctx, url)
	}
	waitFanout(t, c, sockets+1)
	time.Sleep(50 * time.Millisecond) // handlers return
	if grew := runtime.NumGoroutine() - before; grew >= sockets/2 {
		t.Fatalf("%d more goroutines for %d idle sockets", grew, sockets)
	}
	// The poller still answers them.
	ws := dialWS(t, ctx, url)
	go ws.Read(ctx)
	for range 3 {
		if err := ws.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
}

// Over TLS (no raw socket for the workers or the poller) a WebSocket has a
// goroutine to write and one to read, and behaves the same: every event in
// order, pings answered, 1001 at shutdown.
func TestWSOverTLS(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	srv := httptest.NewUnstartedServer(wsHandler(c))
	srv.StartTLS()
	t.Cleanup(func() {
		c.Stop()
		srv.CloseClientConnections()
		srv.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(srv.URL, "https"), &websocket.DialOptions{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	publish(t, c, 3, 10)
	if err := readSeqs(ctx, ws, 3); err != nil {
		t.Fatal(err)
	}
	if c.Deliver.FanoutStreams() != 0 {
		t.Fatalf("the fan-out workers own %d streams; a TLS socket cannot be theirs", c.Deliver.FanoutStreams())
	}
	read := make(chan error, 1)
	go func() {
		_, _, err := ws.Read(ctx)
		read <- err
	}()
	if err := ws.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	c.Stop()
	if err := <-read; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("after shutdown: %v, want close 1001", err)
	}
}
