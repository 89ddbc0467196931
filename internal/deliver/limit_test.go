package deliver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/topic"
)

// capped serves SSE at /s and WebSocket at /w for the key named by ?key=,
// idle streams with a keep-alive every 10 ms (so that a client that left
// is noticed at once, by whoever owns its stream). A refused stream gets
// 429 "refused" from the handler: had the engine written anything first,
// the client would see that instead.
func capped(c *dialecttest.Core) *http.ServeMux {
	f := c.Hub.RegisterFormat("test.capped", func(e *eventlog.Event) []byte {
		return framing.AppendWSText(nil, e.Data)
	})
	all, _ := topic.ParseFilter("test.>")
	refuse := func(w http.ResponseWriter, err error) {
		if errors.Is(err, deliver.ErrTooManyStreams) {
			http.Error(w, "refused", http.StatusTooManyRequests)
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /s", func(w http.ResponseWriter, r *http.Request) {
		refuse(w, c.Deliver.ServeSSE(w, r, deliver.SSEStream{
			Transport: "test",
			Sub:       c.Hub.Subscribe(0, all),
			Key:       r.URL.Query().Get("key"),
			KeepAlive: 10 * time.Millisecond,
			Idle:      []byte(": idle\n\n"),
			Frames:    func(dst [][]byte, evs []*hub.Event) ([][]byte, int) { return dst, len(evs) },
		}))
	})
	mux.HandleFunc("GET /w", func(w http.ResponseWriter, r *http.Request) {
		refuse(w, c.Deliver.ServeWS(w, r, deliver.WSStream{
			Transport: "test-ws",
			Sub:       c.Hub.Subscribe(0, all),
			Key:       r.URL.Query().Get("key"),
			Frame:     f,
			KeepAlive: 10 * time.Millisecond,
		}))
	})
	return mux
}

// serveCapped serves capped over plain HTTP, TLS (HTTP/1.1) or HTTP/2,
// until the test ends.
func serveCapped(t *testing.T, c *dialecttest.Core, mode string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(capped(c))
	switch mode {
	case "http":
		srv.Start()
	case "tls":
		srv.StartTLS()
	case "h2":
		srv.EnableHTTP2 = true
		srv.StartTLS()
	}
	t.Cleanup(func() {
		c.Stop()
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

// get opens /s?key= and returns the response, its body unread.
func get(t *testing.T, srv *httptest.Server, key string) *http.Response {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + "/s?key=" + key)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// mustOpen opens /s?key=, which must be accepted; the stream is closed
// when the test ends if not before.
func mustOpen(t *testing.T, srv *httptest.Server, key string) *http.Response {
	t.Helper()
	resp := get(t, srv, key)
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a stream of key %q: %d over %s", key, resp.StatusCode, resp.Proto)
	}
	return resp
}

// mustRefuse checks that a stream of key is refused with the handler's
// 429 and nothing of the stream's.
func mustRefuse(t *testing.T, srv *httptest.Server, key string) {
	t.Helper()
	resp := get(t, srv, key)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusTooManyRequests || string(b) != "refused\n" {
		t.Fatalf("over the cap: %d %q, want the handler's 429", resp.StatusCode, b)
	}
}

func waitKeyStreams(t *testing.T, c *dialecttest.Core, key string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Deliver.KeyStreams(key) != want {
		if time.Now().After(deadline) {
			t.Fatalf("key %q has %d streams open, want %d", key, c.Deliver.KeyStreams(key), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A key at its cap gets ErrTooManyStreams, before anything is written,
// for SSE and WebSocket alike; other keys are not affected.
func TestStreamsPerKeyCap(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{Deliver: func(cfg *deliver.Config) { cfg.StreamsPerKey = 2 }})
	srv := serveCapped(t, c, "http")
	mustOpen(t, srv, "k")
	mustOpen(t, srv, "k")
	mustRefuse(t, srv, "k")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/w?key=k", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("WebSocket over the cap: %v %v, want 429", resp, err)
	}
	mustOpen(t, srv, "j")
	if n := c.Deliver.KeyStreams("k"); n != 2 {
		t.Fatalf("key k has %d streams open after refusals, want 2", n)
	}
}

// A stream that ends gives its slot back exactly once, whoever owns it
// when it ends: a fan-out worker, a stream goroutine, the handler, or the
// peer reader's owner after a WebSocket client's close.
func TestStreamsPerKeySlotFreed(t *testing.T) {
	for _, tc := range []struct {
		name, mode string
		ws         bool
	}{
		{"worker", "http", false},           // caught up: a worker's write fails
		{"stream goroutine", "tls", false},  // TLS: its goroutine's write fails
		{"handler", "h2", false},            // HTTP/2: the request ends
		{"websocket close", "http", true},   // the client closes; its owner ends it
		{"websocket over tls", "tls", true}, // likewise, read by a goroutine
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialecttest.NewCore(t, dialecttest.Options{Deliver: func(cfg *deliver.Config) { cfg.StreamsPerKey = 1 }})
			srv := serveCapped(t, c, tc.mode)
			if tc.ws {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/w?key=k"
				ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: srv.Client()})
				if err != nil {
					t.Fatal(err)
				}
				go func() { // reads the close handshake's answer
					for {
						if _, _, err := ws.Read(ctx); err != nil {
							return
						}
					}
				}()
				if tc.mode == "http" {
					waitFanout(t, c, 1)
				}
				mustRefuse(t, srv, "k")
				ws.Close(websocket.StatusNormalClosure, "bye")
			} else {
				resp := mustOpen(t, srv, "k")
				if (resp.ProtoMajor == 2) != (tc.mode == "h2") {
					t.Fatalf("the stream is served over %s", resp.Proto)
				}
				switch tc.mode {
				case "http":
					waitFanout(t, c, 1)
				default:
					if n := c.Deliver.FanoutStreams(); n != 0 {
						t.Fatalf("the workers own %d streams; over %s they cannot", n, resp.Proto)
					}
				}
				mustRefuse(t, srv, "k")
				resp.Body.Close()
				srv.Client().CloseIdleConnections()
			}
			waitKeyStreams(t, c, "k", 0)
			mustOpen(t, srv, "k")
			if n := c.Deliver.KeyStreams("k"); n != 1 {
				t.Fatalf("key k has %d streams open, want 1", n)
			}
		})
	}
}

// A handshake that is refused, and streams ended by shutdown, give their
// slots back too.
func TestStreamsPerKeyRefusedHandshakeAndShutdown(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{Deliver: func(cfg *deliver.Config) { cfg.StreamsPerKey = 1 }})
	srv := serveCapped(t, c, "http")
	resp, err := srv.Client().Get(srv.URL + "/w?key=k") // no Upgrade
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUpgradeRequired {
		t.Fatalf("not a handshake: %d", resp.StatusCode)
	}
	if n := c.Deliver.KeyStreams("k"); n != 0 {
		t.Fatalf("a refused handshake holds %d slots", n)
	}
	mustOpen(t, srv, "k")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/w?key=j", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	waitFanout(t, c, 2)
	c.Stop()
	waitKeyStreams(t, c, "k", 0)
	waitKeyStreams(t, c, "j", 0)
}
