package deliver_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/topic"
)

// sseServer serves ServeSSE at /s with one frame per event ("id: <seq>"),
// starting after ?after=.
func sseServer(t *testing.T, c *dialecttest.Core, tweak func(*deliver.SSEStream)) string {
	t.Helper()
	f := c.Hub.RegisterFormat("test.sse", func(e *eventlog.Event) []byte {
		return framing.AppendEvent(nil, strconv.FormatUint(e.Seq, 10), "", e.Data)
	})
	all, _ := topic.ParseFilter("test.>")
	srv := c.Serve(t, func(mux *http.ServeMux) {
		mux.HandleFunc("GET /s", func(w http.ResponseWriter, r *http.Request) {
			after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
			spec := deliver.SSEStream{
				Transport: "test",
				Sub:       c.Hub.Subscribe(after, all),
				KeepAlive: time.Hour,
				Idle:      []byte(": idle\n\n"),
				Frames: func(dst [][]byte, evs []*hub.Event) ([][]byte, int) {
					for _, e := range evs {
						dst = append(dst, e.Wire(f))
					}
					return dst, len(evs)
				},
			}
			if tweak != nil {
				tweak(&spec)
			}
			c.Deliver.ServeSSE(w, r, spec)
		})
	})
	return srv.URL
}

// openStream connects with a raw socket (rcvbuf > 0 fixes its receive
// buffer) and reads the response head.
func openStream(t *testing.T, base, query string, rcvbuf int) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := net.Dialer{Control: nil}
	conn, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if rcvbuf > 0 {
		conn.(*net.TCPConn).SetReadBuffer(rcvbuf)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /s?%s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n", query)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("open stream: %v %v", resp, err)
	}
	return conn, br
}

// readIDs reads frames until it has seen id want, checking that ids come
// one after another from after+1; it returns the other lines it saw.
func readIDs(br *bufio.Reader, after, want uint64) (others []string, err error) {
	next := after + 1
	for next <= want {
		line, err := br.ReadString('\n')
		if err != nil {
			return others, fmt.Errorf("after id %d: %w", next-1, err)
		}
		line = strings.TrimSuffix(line, "\n")
		v, ok := strings.CutPrefix(line, "id: ")
		if !ok {
			if line != "" && !strings.HasPrefix(line, "data: ") {
				others = append(others, line)
			}
			continue
		}
		if v != strconv.FormatUint(next, 10) {
			return others, fmt.Errorf("id %s, want %d", v, next)
		}
		next++
	}
	return others, nil
}

func publish(t *testing.T, c *dialecttest.Core, n, size int) {
	t.Helper()
	data := []byte(`"` + strings.Repeat("x", size) + `"`)
	for sent := 0; sent < n; {
		batch := make([]eventlog.Draft, min(100, n-sent))
		for i := range batch {
			batch[i] = eventlog.Draft{Topic: "test.a", Type: "t", Data: data}
		}
		if _, err := c.Append(context.Background(), "test", batch); err != nil {
			t.Fatal(err)
		}
		sent += len(batch)
	}
}

func waitFanout(t *testing.T, c *dialecttest.Core, want int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Deliver.FanoutStreams() != want {
		if time.Now().After(deadline) {
			t.Fatalf("fan-out owns %d streams, want %d", c.Deliver.FanoutStreams(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Caught-up streams are served by the workers, and every stream gets every
// event once, in order, however many workers share them.
func TestFanoutDeliversInOrder(t *testing.T) {
	onWritePaths(t, func(t *testing.T, p writePath) {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) { testFanoutInOrder(t, p, workers) })
		}
	})
}

func testFanoutInOrder(t *testing.T, p writePath, workers int) {
	c := newCore(t, p, dialecttest.Options{Deliver: func(cfg *deliver.Config) { cfg.Workers = workers }})
	base := sseServer(t, c, nil)
	const streams, events = 40, 500
	readers := make([]*bufio.Reader, streams)
	for i := range readers {
		_, readers[i] = openStream(t, base, "after=0", 0)
	}
	waitFanout(t, c, streams)
	var wg sync.WaitGroup
	wg.Go(func() {
		data := []byte(`"x"`)
		for range events {
			if _, err := c.Append(context.Background(), "test", []eventlog.Draft{{Topic: "test.a", Type: "t", Data: data}}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	errs := make(chan error, streams)
	for _, br := range readers {
		wg.Go(func() {
			if _, err := readIDs(br, 0, events); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A stream whose socket fills up is handed to a goroutine with the rest of
// the write, gets everything once the client reads again, and returns to
// the workers when it has caught up.
func TestFanoutFullSocketCatchesUp(t *testing.T) { onWritePaths(t, testFanoutFullSocketCatchesUp) }

func testFanoutFullSocketCatchesUp(t *testing.T, p writePath) {
	const writeTimeout = time.Second
	c := newCore(t, p, dialecttest.Options{WriteTimeout: writeTimeout})
	base := sseServer(t, c, nil)
	_, br := openStream(t, base, "after=0", 64<<10)
	_, fast := openStream(t, base, "after=0", 0)
	waitFanout(t, c, 2)
	const events = 1200
	publish(t, c, events, 8<<10) // 10 MiB: more than loopback's socket buffers hold
	if _, err := readIDs(fast, 0, events); err != nil {
		t.Fatal("fast stream:", err)
	}
	if n := c.Deliver.FanoutStreams(); n != 1 {
		t.Fatalf("fan-out owns %d streams while one is stuck, want 1", n)
	}
	if _, err := readIDs(br, 0, events); err != nil {
		t.Fatal("slow stream:", err)
	}
	waitFanout(t, c, 2)
	// The blocking writes' deadline must not outlive them: the worker's
	// writes after it are fine.
	time.Sleep(2 * writeTimeout)
	publish(t, c, 1, 10)
	if _, err := readIDs(br, events, events+1); err != nil {
		t.Fatal("slow stream after catching up:", err)
	}
}

// Idle streams get the keep-alive frame from the workers.
func TestFanoutKeepAlive(t *testing.T) { onWritePaths(t, testFanoutKeepAlive) }

func testFanoutKeepAlive(t *testing.T, p writePath) {
	c := newCore(t, p, dialecttest.Options{})
	base := sseServer(t, c, func(s *deliver.SSEStream) { s.KeepAlive = 10 * time.Millisecond })
	conn, br := openStream(t, base, "after=0", 0)
	waitFanout(t, c, 1)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil || line != ": idle\n" {
		t.Fatalf("got %q, %v; want the idle frame", line, err)
	}
}

// Gather holds the first ready events so that what follows closely leaves
// in the same message.
func TestFanoutGather(t *testing.T) { onWritePaths(t, testFanoutGather) }

func testFanoutGather(t *testing.T, p writePath) {
	c := newCore(t, p, dialecttest.Options{})
	base := sseServer(t, c, func(s *deliver.SSEStream) {
		s.Gather = 300 * time.Millisecond
		s.Frames = func(dst [][]byte, evs []*hub.Event) ([][]byte, int) {
			return append(dst, fmt.Appendf(nil, "data: %d-%d\n\n", evs[0].Seq, evs[len(evs)-1].Seq)), len(evs)
		}
	})
	_, br := openStream(t, base, "after=0", 0)
	waitFanout(t, c, 1)
	for range 3 {
		publish(t, c, 1, 10)
	}
	line, err := br.ReadString('\n')
	if err != nil || line != "data: 1-3\n" {
		t.Fatalf("got %q, %v; want one message with events 1 to 3", line, err)
	}
}

// An event already waiting when the stream opens is found by the stream's
// own goroutine, before any worker has it: it is held for the gather
// window all the same, so what follows it closely leaves with it.
// (Hue's batch test failed now and then on a busy machine: the first
// change left alone when the client was quicker than the join.)
func TestGatherBeforeAWorkerHasTheStream(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	base := sseServer(t, c, func(s *deliver.SSEStream) {
		s.Gather = 2 * time.Second
		s.Frames = func(dst [][]byte, evs []*hub.Event) ([][]byte, int) {
			return append(dst, fmt.Appendf(nil, "data: %d-%d\n\n", evs[0].Seq, evs[len(evs)-1].Seq)), len(evs)
		}
	})
	publish(t, c, 1, 10)
	_, br := openStream(t, base, "after=0", 0) // event 1 is ready at once
	publish(t, c, 2, 10)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: 1-3\n" {
		t.Fatalf("got %q, %v; want one message with events 1 to 3", line, err)
	}
}

// At shutdown every stream ends, whoever serves it.
func TestFanoutShutdownEndsStreams(t *testing.T) { onWritePaths(t, testFanoutShutdownEndsStreams) }

func testFanoutShutdownEndsStreams(t *testing.T, p writePath) {
	c := newCore(t, p, dialecttest.Options{})
	base := sseServer(t, c, nil)
	conn, br := openStream(t, base, "after=0", 0)
	waitFanout(t, c, 1)
	publish(t, c, 3, 10)
	if _, err := readIDs(br, 0, 3); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := br.ReadString('\n')
		if isTimeout(err) {
			t.Fatal("stream still open after shutdown")
		}
		if err != nil {
			break
		}
		if line != "\n" && !strings.HasPrefix(line, "data: ") {
			t.Fatalf("after shutdown: %q", line)
		}
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
