package native_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
)

// countIDs counts SSE frames in a stream and remembers the last id.
type countIDs struct {
	n    int
	last uint64
	tail []byte
}

func (c *countIDs) Write(p []byte) (int, error) {
	buf := append(c.tail, p...)
	for {
		i := bytes.Index(buf, []byte("\nid: "))
		if i < 0 {
			break
		}
		j := bytes.IndexByte(buf[i+5:], '\n')
		if j < 0 {
			break
		}
		seq, _ := strconv.ParseUint(string(buf[i+5:i+5+j]), 10, 64)
		if seq != c.last+1 {
			return 0, fmt.Errorf("got id %d after %d", seq, c.last)
		}
		c.last = seq
		c.n++
		buf = buf[i+5+j:]
	}
	c.tail = append(c.tail[:0], buf[max(0, len(buf)-64):]...)
	return len(p), nil
}

// One subscriber that never reads among 100 that do: the fast ones get
// every event; the slow one is cut after the write timeout and, resuming
// with Last-Event-ID, gets exactly the rest.
func TestSlowConsumerIsCutAndResumes(t *testing.T) {
	s := start(t, server.Config{WriteTimeout: 5 * time.Second}) // generous: fast readers share 2 cores with the race detector and other tests
	const fast, total, perReq = 100, 1000, 50
	payload := strings.Repeat("x", 8<<10)

	// The slow subscriber: a raw connection that reads nothing while the
	// events are published. Its fixed 64 KiB receive buffer stops the
	// kernel's autotuning, so 8 MiB of events exceed what the kernel can
	// hold for it (the sender's buffer is at most 4 MiB on Linux defaults).
	slow, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if err := slow.(*net.TCPConn).SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(slow, "GET /v1/stream?after=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", s.admin)

	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make([]*countIDs, fast)
	for i := range fast {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/v1/stream?after=0", nil)
		req.Header.Set("Authorization", "Bearer "+s.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		results[i] = &countIDs{tail: []byte("\n")}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer resp.Body.Close()
			buf := make([]byte, 64<<10)
			for results[i].n < total {
				n, err := resp.Body.Read(buf)
				if _, werr := results[i].Write(buf[:n]); werr != nil {
					t.Error(werr)
					return
				}
				if err != nil {
					t.Errorf("fast subscriber %d: %v after %d events", i, err, results[i].n)
					return
				}
			}
		}()
	}
	for i := 0; i < total; i += perReq {
		var b strings.Builder
		b.WriteByte('[')
		for j := 0; j < perReq; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"topic":"app.big","type":"t","data":%q}`, payload)
		}
		b.WriteByte(']')
		if r := s.do("POST", "/v1/events", s.admin, b.String(), nil); r.StatusCode != 201 {
			t.Fatalf("publish: %d", r.StatusCode)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("fast subscribers did not get every event: slowed down by the stuck one?")
	}
	for i, r := range results {
		if r.n != total || r.last != total {
			t.Fatalf("fast subscriber %d got %d events, last %d", i, r.n, r.last)
		}
	}

	// The stuck connection is cut by the server within the write timeout ...
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(s.metrics(), `herald_streams_cut_total{reason="write_timeout",transport="sse"} 1`) {
		if time.Now().After(deadline) {
			t.Fatal("the stuck subscriber was never cut")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// ... so reading what the kernel buffered for it ends in EOF, not in a
	// wait for more.
	got := &countIDs{tail: []byte("\n")}
	slow.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.Copy(got, bufio.NewReader(slow)); err != nil {
		t.Fatalf("slow subscriber: %v (after %d events)", err, got.n)
	}
	if got.n == 0 || got.n >= total {
		t.Fatalf("slow subscriber got %d of %d before the cut; the test needs a cut in the middle", got.n, total)
	}

	cutAt := got.last

	// Resume exactly after the last complete event.
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+s.admin)
	req.Header.Set("Last-Event-ID", strconv.FormatUint(got.last, 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 64<<10)
	for got.n < total {
		n, err := resp.Body.Read(buf)
		if _, werr := got.Write(buf[:n]); werr != nil {
			t.Fatal(werr)
		}
		if err != nil {
			t.Fatalf("resumed stream: %v after %d", err, got.n)
		}
	}
	if got.last != total {
		t.Fatalf("resumed to %d", got.last)
	}
	t.Logf("slow subscriber was cut after %d of %d events and resumed", cutAt, total)
}
