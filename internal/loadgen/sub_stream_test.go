package loadgen

import (
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// testReceiverClose checks that close ends run promptly, however far run
// has got: on an idle stream, before run starts, and racing the handoff to
// a reactor; and that no descriptor is left open. open starts a stream
// whose server first writes first (head, then what follows it); frame
// frames events from..to in the stream's own framing.
func testReceiverClose(t *testing.T, open func(*testing.T, *reactorPool, string) (*streamReceiver, net.Conn), head string, frame func(marker []byte, from, to uint64) []byte) {
	marker := markerOf(newRunID())
	fds0 := openFDs()
	pool := newReactorPool()

	t.Run("idle", func(t *testing.T) {
		r, c := open(t, pool, head+string(frame(marker, 1, 1)))
		var delivered atomic.Uint64
		_, done := runAsync(r, marker, &delivered)
		c.Write(frame(marker, 2, 2))
		waitCount(t, &delivered, 2) // both reached the account: the stream is idle
		start := time.Now()
		r.close()
		if err := waitErr(t, done); !errors.Is(err, net.ErrClosed) {
			t.Errorf("run: %v; want net.ErrClosed", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("run returned %v after close", d)
		}
		r.close() // again: nothing happens
		c.Close()
	})
	t.Run("before run", func(t *testing.T) {
		r, c := open(t, pool, head)
		r.close()
		var delivered atomic.Uint64
		_, done := runAsync(r, marker, &delivered)
		if err := waitErr(t, done); err == nil {
			t.Error("run after close succeeded")
		}
		c.Close()
	})
	t.Run("racing", func(t *testing.T) {
		first := head + string(frame(marker, 1, 5))
		for i := range 30 {
			r, c := open(t, pool, first)
			var delivered atomic.Uint64
			_, done := runAsync(r, marker, &delivered)
			if i%3 == 1 {
				time.Sleep(time.Duration(i) * 50 * time.Microsecond)
			}
			r.close()
			if err := waitErr(t, done); err == nil {
				t.Errorf("round %d: run ended without an error", i)
			}
			c.Close()
		}
	})
	pool.close()
	if fds0 >= 0 {
		if fds1 := openFDs(); fds1 != fds0 {
			t.Errorf("%d descriptors open before, %d after", fds0, fds1)
		}
	}
}

// feeding is one way to hand a parser n bytes: the offsets at which the
// pieces are cut.
type feeding struct {
	how  string
	cuts []int
}

// feedings are the ways a parser test feeds n bytes — whole, byte by byte,
// and cut in two at every offset that keep accepts (nil: every one) — each
// of which must give the same result.
func feedings(n int, keep func(cut int) bool) []feeding {
	bytewise := make([]int, 0, n)
	for i := 1; i < n; i++ {
		bytewise = append(bytewise, i)
	}
	fs := []feeding{{"whole", nil}, {"byte by byte", bytewise}}
	for cut := 0; cut <= n; cut++ {
		if keep == nil || keep(cut) {
			fs = append(fs, feeding{"cut at " + strconv.Itoa(cut), []int{cut}})
		}
	}
	return fs
}
