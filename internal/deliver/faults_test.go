package deliver_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/hub"
)

func addRule(t *testing.T, c *dialecttest.Core, body string) faults.Rule {
	t.Helper()
	spec, err := faults.ParseSpec([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Faults.Add(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}

// readToEnd reads a stream until the server ends it and returns the ids
// it got; it fails if the stream is still open after 10 s.
func readToEnd(t *testing.T, conn net.Conn, br *bufio.Reader) []uint64 {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ids []uint64
	for {
		line, err := br.ReadString('\n')
		if isTimeout(err) {
			t.Fatalf("the stream was not cut (ids so far %v)", ids)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("after ids %v: %v", ids, err)
			}
			return ids
		}
		if v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "id: "); ok {
			id, _ := strconv.ParseUint(v, 10, 64)
			ids = append(ids, id)
		}
	}
}

func wantIDs(t *testing.T, got []uint64, from, to uint64) {
	t.Helper()
	ok := len(got) == int(to-from+1)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i] == from+uint64(i)
	}
	if !ok {
		t.Fatalf("ids %v, want %d to %d", got, from, to)
	}
}

func nativeStream(s *deliver.SSEStream) { s.Dialect, s.Key = "native", "k1" }

// cut_stream after_events ends each stream after N whole events, both
// where a stream's own goroutine writes (catching up) and where a worker
// does (caught up); a stream opened again gets N more, and nothing is
// skipped or repeated across the cuts.
func TestFaultCutAfterEvents(t *testing.T) { onWritePaths(t, testFaultCutAfterEvents) }

func testFaultCutAfterEvents(t *testing.T, p writePath) {
	c := newCore(t, p, dialecttest.Options{})
	base := sseServer(t, c, nativeStream)
	addRule(t, c, `{"dialect":"native","action":"cut_stream","after_events":3}`)

	publish(t, c, 7, 10)
	conn, br := openStream(t, base, "after=0", 0) // catching up: its goroutine writes
	wantIDs(t, readToEnd(t, conn, br), 1, 3)
	conn, br = openStream(t, base, "after=3", 0)
	wantIDs(t, readToEnd(t, conn, br), 4, 6)

	conn, br = openStream(t, base, "after=7", 0) // caught up: a worker writes
	waitFanout(t, c, 1)
	publish(t, c, 2, 10)
	if _, err := readIDs(br, 7, 9); err != nil {
		t.Fatal(err)
	}
	publish(t, c, 5, 10) // all at once: the worker clips them at the third
	wantIDs(t, readToEnd(t, conn, br), 10, 10)
	conn, br = openStream(t, base, "after=10", 0)
	wantIDs(t, readToEnd(t, conn, br), 11, 13)

	cuts := counter(c.Metrics.StreamsCut.WithLabelValues("test", "fault"))
	injected := counter(c.Metrics.FaultsInjected.WithLabelValues("native", "cut_stream"))
	if cuts != 4 || injected != 4 {
		t.Fatalf("herald_streams_cut_total{fault} %v, herald_faults_injected_total{cut_stream} %v; want 4", cuts, injected)
	}
}

// A frame that carries fewer events than it is given (a dialect's own
// filter) does not make a clipped stream skip what was clipped.
func TestFaultCutAfterEventsWithDroppingFrames(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	base := sseServer(t, c, func(s *deliver.SSEStream) {
		nativeStream(s)
		frames := s.Frames
		s.Frames = func(dst [][]byte, evs []*hub.Event) ([][]byte, int) {
			var keep []*hub.Event
			for _, e := range evs {
				if e.Seq%2 == 0 { // carries even events only
					keep = append(keep, e)
				}
			}
			return frames(dst, keep)
		}
	})
	addRule(t, c, `{"action":"cut_stream","after_events":2}`)
	publish(t, c, 10, 10)
	conn, br := openStream(t, base, "after=0", 0)
	if got := readToEnd(t, conn, br); len(got) != 2 || got[0] != 2 || got[1] != 4 {
		t.Fatalf("ids %v, want 2 and 4", got)
	}
}

// now: true cuts the matching streams open when the rule is made, at once,
// and not those opened after it.
func TestFaultCutNow(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	base := sseServer(t, c, nativeStream)
	other := sseServer(t, c, func(s *deliver.SSEStream) { s.Dialect = "plex" })
	conn1, br1 := openStream(t, base, "after=0", 0)
	conn2, br2 := openStream(t, base, "after=0", 0)
	conn3, br3 := openStream(t, other, "after=0", 0)
	waitFanout(t, c, 3)
	publish(t, c, 1, 10)
	for _, br := range []*bufio.Reader{br1, br2, br3} {
		if _, err := readIDs(br, 0, 1); err != nil {
			t.Fatal(err)
		}
	}
	addRule(t, c, `{"dialect":"native","action":"cut_stream","now":true}`)
	wantIDs(t, readToEnd(t, conn1, br1), 2, 1)
	wantIDs(t, readToEnd(t, conn2, br2), 2, 1)

	conn4, br4 := openStream(t, base, "after=1", 0)
	publish(t, c, 1, 10)
	for _, br := range []*bufio.Reader{br3, br4} {
		if _, err := readIDs(br, 1, 2); err != nil {
			t.Fatal("a stream the rule is not for:", err)
		}
	}
	_, _ = conn3, conn4
}

// every cuts each stream that long after it opened, idle or not.
func TestFaultCutEvery(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	base := sseServer(t, c, nativeStream)
	addRule(t, c, `{"action":"cut_stream","every":"300ms"}`)
	began := time.Now()
	conn, br := openStream(t, base, "after=0", 0)
	readToEnd(t, conn, br)
	if took := time.Since(began); took < 300*time.Millisecond { // a timer never fires early
		t.Fatalf("cut after %v, before its time", took)
	}
}

// delay holds each write of a matching stream; the events all arrive.
func TestFaultDelayHoldsWrites(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	base := sseServer(t, c, nativeStream)
	addRule(t, c, `{"action":"delay","delay":"300ms","topic":"test.>"}`)
	conn, br := openStream(t, base, "after=0", 0)
	waitFanout(t, c, 1)
	began := time.Now()
	publish(t, c, 1, 10)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readIDs(br, 0, 1); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 300*time.Millisecond {
		t.Fatalf("delivered after %v, before the delay", took)
	}
	if n := counter(c.Metrics.FaultsInjected.WithLabelValues("native", "delay")); n != 1 {
		t.Fatalf("herald_faults_injected_total{delay} = %v, want 1", n)
	}
}

// Rules for another dialect, key or topic leave a stream alone, and a
// stream that a rule no longer matches is not cut.
func TestFaultRulesForOthers(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	base := sseServer(t, c, nativeStream)
	addRule(t, c, `{"dialect":"hue","action":"cut_stream","after_events":1}`)
	addRule(t, c, `{"key":"k2","action":"cut_stream","after_events":1}`)
	addRule(t, c, `{"topic":"other.>","action":"cut_stream","after_events":1}`)
	r := addRule(t, c, `{"action":"cut_stream","after_events":4}`)
	conn, br := openStream(t, base, "after=0", 0)
	waitFanout(t, c, 1)
	publish(t, c, 2, 10)
	if _, err := readIDs(br, 0, 2); err != nil {
		t.Fatal(err)
	}
	if err := c.Faults.Delete(context.Background(), r.ID); err != nil {
		t.Fatal(err)
	}
	publish(t, c, 5, 10)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readIDs(br, 2, 7); err != nil {
		t.Fatal("after its rule was deleted:", err)
	}
	if n := counter(c.Metrics.StreamsCut.WithLabelValues("test", "fault")); n != 0 {
		t.Fatalf("%v streams cut", n)
	}
}
