package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// SSE readers of which some never read: every reader that reads gets every
// acknowledged event once and in order while the others are stuck; each
// stuck one is cut by the write timeout and, resuming with Last-Event-ID
// after the last event it got whole, gets exactly the rest. make test runs
// 100 readers with 5 stuck; `make stuck-readers` sets HERALD_SSE_READERS
// and HERALD_SSE_STUCK (1,000 and 50).
func TestStuckReadersAreCutAndResume(t *testing.T) {
	readers := envInt(t, "HERALD_SSE_READERS", 100)
	stuck := envInt(t, "HERALD_SSE_STUCK", 5)
	if stuck >= readers {
		t.Fatalf("%d stuck readers of %d: some must read", stuck, readers)
	}
	// A generous write timeout: the readers share two cores with the race
	// detector; one that reads is never stalled for that long.
	s := servertest.Start(t, server.Config{WriteTimeout: 5 * time.Second,
		MaxConns: -1, MaxConnsPerAddr: -1, StreamsPerKey: -1})
	const total, perReq = 1000, 50
	// 8 MiB in all: more than the kernel buffers for a stuck reader (its
	// receive buffer is pinned at 64 KiB, the sender's is at most 4 MiB on
	// Linux defaults), so each is stuck in the middle.
	payload := strings.Repeat("x", 8<<10)
	stream := s.URL() + "/v1/stream?topics=app.big&after=0"

	conns := make([]net.Conn, stuck)
	for i := range conns {
		c, err := net.Dial("tcp", s.Cfg.HTTPAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.(*net.TCPConn).SetReadBuffer(64 << 10); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", strings.TrimPrefix(stream, s.URL()), s.Admin)
		conns[i] = c
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	got := make([][]uint64, readers-stuck)
	var wg sync.WaitGroup
	for i := range got {
		body := openSSE(ctx, t, client, stream, s.Admin, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer body.Close()
			err := readSSE(body, func(e sseEvent) error {
				seq, err := nativeSeq(e)
				got[i] = append(got[i], seq)
				if len(got[i]) == total {
					return errDone
				}
				return err
			})
			if err != errDone {
				t.Errorf("reader %d: %v after %d events", i, err, len(got[i]))
			}
		}()
	}

	var acked []uint64
	for i := 0; i < total; i += perReq {
		var b strings.Builder
		b.WriteByte('[')
		for j := range perReq {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"topic":"app.big","type":"t","id":"e%d","data":%q}`, i+j, payload)
		}
		b.WriteByte(']')
		var out struct{ Events []struct{ Seq uint64 } }
		hdr := http.Header{"Authorization": {"Bearer " + s.Admin}}
		if st, _, body := request(t, nil, "POST", s.URL()+"/v1/events", hdr, b.String(), &out); st != 201 {
			t.Fatalf("publish: %d %s", st, body)
		}
		for _, e := range out.Events {
			acked = append(acked, e.Seq)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Duration(readers) * time.Second): // a hang, not a speed limit
		cancel()
		t.Fatal("the readers did not get every event: held up by the stuck ones?")
	}
	for i, seqs := range got {
		if !slices.Equal(seqs, acked) {
			t.Fatalf("reader %d got %d events (%v…), want the %d acknowledged in order", i, len(seqs), seqs[:min(len(seqs), 5)], len(acked))
		}
	}

	// Each stuck reader is cut within the write timeout ...
	const cut = `herald_streams_cut_total{reason="write_timeout",transport="sse"}`
	eventually(t, time.Minute, func() string {
		if v := scrape(t, s.URL(), s.Admin)[cut]; v != strconv.Itoa(stuck) {
			return fmt.Sprintf("%s is %q, want %d", cut, v, stuck)
		}
		return ""
	})
	// ... so reading what the kernel kept for it ends, and resuming after
	// the last whole event gets exactly the rest.
	var cutAt []int
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stuck reader %d: %v %v", i, resp, err)
		}
		var seqs []uint64
		last := ""
		err = readSSE(resp.Body, func(e sseEvent) error {
			seq, err := nativeSeq(e)
			seqs, last = append(seqs, seq), e.ID
			return err
		})
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			t.Fatalf("stuck reader %d: %v after %d events, want the end of a cut stream", i, err, len(seqs))
		}
		if len(seqs) == 0 || len(seqs) >= total {
			t.Fatalf("stuck reader %d got %d of %d before the cut; the test needs a cut in the middle", i, len(seqs), total)
		}
		cutAt = append(cutAt, len(seqs))
		body := openSSE(ctx, t, client, strings.TrimSuffix(stream, "&after=0"), s.Admin, last)
		err = readSSE(body, func(e sseEvent) error {
			seq, err := nativeSeq(e)
			if seqs = append(seqs, seq); len(seqs) == total {
				return errDone
			}
			return err
		})
		body.Close()
		if err != errDone || !slices.Equal(seqs, acked) {
			t.Fatalf("stuck reader %d resumed after %s: %v, %d events, want the %d acknowledged in order", i, last, err, len(seqs), total)
		}
	}
	slices.Sort(cutAt)
	t.Logf("%d readers got all %d events; %d stuck ones were cut after %d to %d events and resumed exactly",
		readers-stuck, total, stuck, cutAt[0], cutAt[len(cutAt)-1])
}
