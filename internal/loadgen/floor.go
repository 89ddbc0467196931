package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// FloorConfig describes a floor measurement.
type FloorConfig struct {
	Conns    int           // loopback connections written to (default 1000)
	Size     int           // bytes per write (default 300)
	Duration time.Duration // how long to write (default 3s)
	// Rate is rounds per second, a round being one write to every
	// connection, as a server fans one event out; 0 writes back to back.
	Rate float64
}

// FloorResult is what a floor measurement found.
type FloorResult struct {
	Conns  int
	Writes uint64
	CPU    time.Duration // the writing threads' CPU time
	// PerWriteUS is the CPU cost of one write, in µs: what delivering an
	// event to a subscriber costs at least on this machine, kernel included.
	PerWriteUS float64
}

// MeasureFloor measures what a bare write costs on this machine: it opens
// Conns loopback connections to itself, and one writer per core writes a
// Size-byte message to each in turn for Duration while readers drain the
// other ends. Only the writers' threads are measured (each writer is locked
// to its thread and reads that thread's CPU time), so the readers sharing
// the process do not count. A server's CPU per delivered event compared to
// this tells how much it spends beyond the write itself.
func MeasureFloor(ctx context.Context, cfg FloorConfig) (FloorResult, error) {
	if cfg.Conns <= 0 {
		cfg.Conns = 1000
	}
	if cfg.Size <= 0 {
		cfg.Size = 300
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 3 * time.Second
	}
	if _, ok := threadCPU(); !ok {
		return FloorResult{}, errors.New("per-thread CPU time is not available on this system")
	}
	raiseFileLimit()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return FloorResult{}, err
	}
	var readers sync.WaitGroup
	readers.Go(func() { drainAll(ln, &readers) })
	conns, err := dialAll(ctx, ln.Addr().String(), cfg.Conns)
	defer func() {
		ln.Close()
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		readers.Wait()
	}()
	if err != nil {
		return FloorResult{}, err
	}

	msg := floorMessage(cfg.Size)
	writers := min(runtime.GOMAXPROCS(0), len(conns))
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) / cfg.Rate)
	}
	var stop atomic.Bool
	timer := time.AfterFunc(cfg.Duration, func() { stop.Store(true) })
	defer timer.Stop()
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()
	type tally struct {
		writes uint64
		cpu    time.Duration
		err    error
	}
	tallies := make([]tally, writers)
	var wg sync.WaitGroup
	for j := range writers {
		wg.Go(func() {
			// Locked to its thread, the writer's CPU is that thread's.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			t := &tallies[j]
			cpu0, _ := threadCPU()
			next := time.Now()
			for !stop.Load() {
				if interval > 0 {
					// Paced like the run's events: the readers have gone
					// idle when the next round reaches them, as they have
					// when a server's next event does.
					next = next.Add(interval)
					time.Sleep(time.Until(next))
				}
				for k := j; k < len(conns) && !stop.Load(); k += writers {
					if _, err := conns[k].Write(msg); err != nil {
						t.err = err
						stop.Store(true)
						break
					}
					t.writes++
				}
			}
			cpu1, _ := threadCPU()
			t.cpu = cpu1 - cpu0
		})
	}
	wg.Wait()
	res := FloorResult{Conns: len(conns)}
	for _, t := range tallies {
		if t.err != nil {
			return res, fmt.Errorf("floor write: %w", t.err)
		}
		res.Writes += t.writes
		res.CPU += t.cpu
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if res.Writes > 0 {
		res.PerWriteUS = res.CPU.Seconds() * 1e6 / float64(res.Writes)
	}
	return res, nil
}

// floorMessage is an SSE frame of size bytes, like an event on the wire.
func floorMessage(size int) []byte {
	b := []byte("id: 1234567\nevent: bench\ndata: {\"b\":\"")
	for len(b) < size-4 {
		b = append(b, 'x')
	}
	return append(b, "\"}\n\n"...)
}

// drainAll accepts connections until ln closes and reads each to its end.
func drainAll(ln net.Listener, readers *sync.WaitGroup) {
	// Read as the run's subscribers are (by the reactors, where there
	// are): a write's cost includes waking its reader, so the floor's
	// readers must wake like the run's.
	pool := newReactorPool()
	defer pool.close()
	var delivered atomic.Uint64
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		r := &streamReceiver{
			c:        &httpConn{conn: c, r: bufio.NewReaderSize(c, 16)},
			parser:   newBodyParser(respHead{length: -1}),
			reactors: pool,
		}
		readers.Go(func() {
			defer r.close()
			r.run(newAccount([]byte{0}, &delivered)) // the message holds no token
		})
	}
}

// dialAll opens n connections to addr, from source addresses spread over
// 127.0.0.x. On error it returns the ones it opened for closing.
func dialAll(ctx context.Context, addr string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	host, _, _ := net.SplitHostPort(addr)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		sem   = make(chan struct{}, 64)
	)
	for i := range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d := net.Dialer{LocalAddr: sourceAddr(host, i), Timeout: connectTimeout}
			c, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				once.Do(func() { first = fmt.Errorf("floor connection %d: %w", i, err) })
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	return conns, first
}
