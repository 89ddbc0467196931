package deliver_test

import (
	"context"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/dialect/dialecttest"
)

// slow_read writes a stream at its rate: the stream leaves the fan-out
// workers (whose writes never wait) for a goroutine of its own, its
// events arrive whole and in order but no faster than the rate, and once
// the rule is gone it goes back to the workers.
func TestFaultSlowReadPacesAStream(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	base := sseServer(t, c, nativeStream)
	conn, br := openStream(t, base, "after=0", 0)
	waitFanout(t, c, 1)
	r := addRule(t, c, `{"action":"slow_read","rate":5000}`)
	waitFanout(t, c, 0)

	began := time.Now()
	publish(t, c, 10, 500) // each frame is split: a tenth of a second's bytes go at a time
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := readIDs(br, 0, 10); err != nil {
		t.Fatal(err)
	}
	// 10 frames of over 500 bytes, at 5000 bytes a second with 500 at
	// once: the limiter lets them go no sooner than this.
	if took := time.Since(began); took < 900*time.Millisecond {
		t.Fatalf("10 frames took %v at 5000 bytes/s", took)
	}
	if n := counter(c.Metrics.FaultsInjected.WithLabelValues("native", "slow_read")); n != 1 {
		t.Errorf("herald_faults_injected_total{native,slow_read} = %v, want 1", n)
	}

	if err := c.Faults.Delete(context.Background(), r.ID); err != nil {
		t.Fatal(err)
	}
	publish(t, c, 1, 10) // its goroutine looks at the rules again at its next write
	if _, err := readIDs(br, 10, 11); err != nil {
		t.Fatal(err)
	}
	waitFanout(t, c, 1)
}

// A stream its own goroutine serves (here a slow one) sees a change of
// the rules while it waits for events, not at its next keep-alive (an
// hour away): a restart cuts it at once.
func TestFaultChangeWakesAWaitingStream(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	base := sseServer(t, c, nativeStream)
	addRule(t, c, `{"action":"slow_read","rate":100000}`)
	conn, br := openStream(t, base, "after=0", 0)
	publish(t, c, 1, 10)
	if _, err := readIDs(br, 0, 1); err != nil {
		t.Fatal(err)
	}
	if n := c.Deliver.FanoutStreams(); n != 0 {
		t.Fatalf("a slow stream on the fan-out workers (%d)", n)
	}
	addRule(t, c, `{"action":"restart","down":"1m"}`)
	wantIDs(t, readToEnd(t, conn, br), 2, 1)
}
