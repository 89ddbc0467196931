package reqlog_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/reqlog"
)

// output records each write the Writer makes.
type output struct {
	mu     sync.Mutex
	writes []string
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes = append(o.writes, string(p))
	return len(p), nil
}

func (o *output) get() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.writes...)
}

// Access lines wait; another line takes them along, in order, in one
// write; Flush and Close write what waits; after Close lines go at once.
func TestWriterHoldsAccessLines(t *testing.T) {
	var out output
	w := reqlog.NewWriter(&out, 1<<10, time.Hour)
	w.Lines().Write([]byte("a1\n"))
	w.Lines().Write([]byte("a2\n"))
	if got := out.get(); len(got) != 0 {
		t.Fatalf("access lines written at once: %q", got)
	}
	w.Write([]byte("warn\n"))
	w.Write([]byte("error\n")) // nothing waits: at once, alone
	w.Lines().Write([]byte("a3\n"))
	w.Flush()
	w.Flush() // nothing waits: no write
	w.Lines().Write([]byte("a4\n"))
	w.Close()
	w.Lines().Write([]byte("a5\n"))
	want := []string{"a1\na2\nwarn\n", "error\n", "a3\n", "a4\n", "a5\n"}
	if got := out.get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("writes %q, want %q", got, want)
	}
}

// A full buffer is written in one write, without waiting for the
// interval.
func TestWriterWritesAFullBuffer(t *testing.T) {
	var out output
	w := reqlog.NewWriter(&out, 100, time.Hour)
	defer w.Close()
	line := strings.Repeat("x", 29) + "\n"
	for range 4 {
		w.Lines().Write([]byte(line))
	}
	if got := out.get(); len(got) != 1 || got[0] != strings.Repeat(line, 4) {
		t.Fatalf("writes %q, want the four lines in one", got)
	}
}

// A line waits at most the interval, here a millisecond, once or again.
func TestWriterWritesAfterTheInterval(t *testing.T) {
	var out output
	w := reqlog.NewWriter(&out, 1<<10, time.Millisecond)
	defer w.Close()
	for i := range 2 {
		w.Lines().Write([]byte("line\n"))
		for deadline := time.Now().Add(30 * time.Second); len(out.get()) <= i; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("line %d not written after its interval", i)
			}
		}
	}
}

// Without an interval nothing waits: the log as it was before batching.
func TestWriterUnbatched(t *testing.T) {
	var out output
	w := reqlog.NewWriter(&out, 1<<10, 0)
	w.Lines().Write([]byte("a1\n"))
	w.Write([]byte("warn\n"))
	if got := out.get(); fmt.Sprint(got) != fmt.Sprint([]string{"a1\n", "warn\n"}) {
		t.Fatalf("writes %q", got)
	}
}

// Lines written at once from many goroutines, both kinds, each come out
// once and whole, each goroutine's in its order.
func TestWriterConcurrent(t *testing.T) {
	var out output
	w := reqlog.NewWriter(&out, 256, time.Millisecond)
	var wg sync.WaitGroup
	const n = 500
	for g := range 4 {
		wg.Go(func() {
			for i := range n {
				l := []byte(fmt.Sprintf("g%d %d\n", g, i))
				if i%50 == 0 {
					w.Write(l)
				} else {
					w.Lines().Write(l)
				}
			}
		})
	}
	wg.Wait()
	w.Close()
	var all bytes.Buffer
	for _, s := range out.get() {
		all.WriteString(s)
	}
	next := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n")
	for _, l := range lines {
		var g string
		var i int
		if _, err := fmt.Sscanf(l, "%s %d", &g, &i); err != nil || i != next[g] {
			t.Fatalf("line %q: want %s %d", l, g, next[g])
		}
		next[g]++
	}
	if len(lines) != 4*n {
		t.Fatalf("%d lines, want %d", len(lines), 4*n)
	}
}
