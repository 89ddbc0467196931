package deliver

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gateRig runs a gate over ints whose tasks report that they began and then
// wait until the test lets them end.
type gateRig struct {
	t       *testing.T
	g       *gate[int]
	wg      sync.WaitGroup
	began   chan int
	mu      sync.Mutex
	release map[int]chan struct{}
	dropped []int
	refuse  bool // start fails: shutting down
	over    bool // the test has ended: every task may end
	queued  prometheus.Gauge
	waited  prometheus.Counter
}

func newGateRig(t *testing.T, limit int, hold time.Duration) *gateRig {
	r := &gateRig{t: t, began: make(chan int, 100), release: map[int]chan struct{}{}}
	start := func(f func()) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.refuse {
			return false
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			f()
		}()
		return true
	}
	serve := func(n int) {
		c := r.gate(n) // before the test can learn that n began
		r.began <- n
		<-c
	}
	drop := func(n int) {
		r.mu.Lock()
		r.dropped = append(r.dropped, n)
		r.mu.Unlock()
	}
	r.queued = prometheus.NewGauge(prometheus.GaugeOpts{Name: "queued"})
	r.waited = prometheus.NewCounter(prometheus.CounterOpts{Name: "waited"})
	r.g = newGate(limit, hold, start, serve, drop, r.queued, r.waited)
	t.Cleanup(func() {
		r.mu.Lock()
		r.over = true
		for _, c := range r.release {
			select {
			case <-c:
			default:
				close(c)
			}
		}
		r.mu.Unlock()
		r.wg.Wait()
		if r.g.timer != nil {
			r.g.timer.Stop()
		}
	})
	return r
}

func (r *gateRig) gate(n int) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.release[n]
	if !ok {
		c = make(chan struct{})
		r.release[n] = c
		if r.over { // a task still waiting when the test ended
			close(c)
		}
	}
	return c
}

func (r *gateRig) end(n int) { close(r.gate(n)) }

// next returns the task that begins next.
func (r *gateRig) next() int {
	r.t.Helper()
	select {
	case n := <-r.began:
		return n
	case <-time.After(10 * time.Second):
		r.t.Fatal("no task began")
		return -1
	}
}

// begins fails the test unless the task that begins next is want.
func (r *gateRig) begins(want int, when string) {
	r.t.Helper()
	if got := r.next(); got != want {
		if when != "" {
			when = " " + when
		}
		r.t.Fatalf("began %d%s, want %d", got, when, want)
	}
}

// state returns how many slots are free and how many tasks wait, which
// the gate's gauge must say too.
func (r *gateRig) state() (free, waiting int) {
	r.t.Helper()
	r.g.mu.Lock()
	defer r.g.mu.Unlock()
	free, waiting = r.g.free, len(r.g.queue)-r.g.head
	if g := value(r.queued); g != float64(waiting) {
		r.t.Fatalf("gauge of queued tasks says %v, %d wait", g, waiting)
	}
	return free, waiting
}

// value reads a gauge or a counter.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	if g := m.GetGauge(); g != nil {
		return g.GetValue()
	}
	return m.GetCounter().GetValue()
}

// waitedTotal is the gate's count of tasks that waited.
func (r *gateRig) waitedTotal() int { return int(value(r.waited)) }

// settled waits until the gate has free slots and waiting tasks as given:
// a task's goroutine gives up its slot just after it ends.
func (r *gateRig) settled(free, waiting int) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, w := r.state()
		if f == free && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("gate has %d free slots and %d waiting, want %d and %d", f, w, free, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGateRunsAtMostLimitInOrder(t *testing.T) {
	r := newGateRig(t, 2, time.Hour)
	for n := range 10 {
		r.g.Go(n)
	}
	first := []int{r.next(), r.next()}
	slices.Sort(first)
	if !slices.Equal(first, []int{0, 1}) {
		t.Fatalf("began %v first, want [0 1]", first)
	}
	if free, waiting := r.state(); free != 0 || waiting != 8 {
		t.Fatalf("with two running: %d free slots, %d waiting; want 0 and 8", free, waiting)
	}
	// Each task that ends makes room for exactly the oldest waiting one.
	running := map[int]bool{0: true, 1: true}
	for want := 2; want < 10; want++ {
		done := want - 2
		r.end(done)
		delete(running, done)
		r.begins(want, fmt.Sprintf("after %d ended", done))
		running[want] = true
		if free, waiting := r.state(); free != 0 || waiting != 9-want {
			t.Fatalf("after %d began: %d free slots, %d waiting; want 0 and %d", want, free, waiting, 9-want)
		}
	}
	r.end(8)
	r.end(9)
	r.settled(2, 0)
	// An idle gate starts a task at once again: it did not wait.
	r.g.Go(10)
	r.begins(10, "")
	r.end(10)
	r.settled(2, 0)
	if n := r.waitedTotal(); n != 8 {
		t.Fatalf("counted %d tasks that waited, want 8", n)
	}
}

func TestGateQueueThatNeverEmptiesStaysSmall(t *testing.T) {
	r := newGateRig(t, 1, time.Hour)
	r.g.Go(0)
	r.begins(0, "")
	r.g.Go(1)
	r.g.Go(2)
	for n := 1; n <= 1000; n++ {
		r.g.Go(n + 2) // two wait while n-1 ends and n begins
		r.end(n - 1)
		r.begins(n, "")
	}
	r.g.mu.Lock()
	held := len(r.g.queue)
	r.g.mu.Unlock()
	if free, waiting := r.state(); free != 0 || waiting != 2 {
		t.Fatalf("%d free slots, %d waiting; want 0 and 2", free, waiting)
	}
	if held > 200 {
		t.Fatalf("the queue holds %d entries for the 2 that wait", held)
	}
}

func TestGateLetsTheNextByATaskThatHolds(t *testing.T) {
	r := newGateRig(t, 1, 20*time.Millisecond)
	r.g.Go(0)
	r.begins(0, "")
	r.g.Go(1)
	r.g.Go(2)
	// 0 still runs: past hold it no longer counts, and 1 begins, then 2
	// once 1 has held its slot as long.
	r.begins(1, "while 0 runs")
	r.begins(2, "while 0 and 1 run")
	r.settled(0, 0)
	// A released task that ends takes nothing: its place was given away.
	r.end(0)
	r.end(1)
	r.g.Go(3)
	r.end(2)
	r.begins(3, "")
	r.end(3)
	r.settled(1, 0)
}

func TestGateDropsWhatCannotStart(t *testing.T) {
	r := newGateRig(t, 1, 20*time.Millisecond)
	r.g.Go(0)
	r.begins(0, "")
	r.mu.Lock()
	r.refuse = true
	r.mu.Unlock()
	r.g.Go(1)
	r.g.Go(2)
	// Past hold the gate would start 1, cannot, and drops both.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		dropped := slices.Clone(r.dropped)
		r.mu.Unlock()
		if slices.Equal(dropped, []int{1, 2}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dropped %v, want [1 2]", dropped)
		}
		time.Sleep(time.Millisecond)
	}
	r.end(0)
	r.settled(1, 0)
	// With room, a task that cannot start is dropped at once.
	r.g.Go(3)
	r.mu.Lock()
	dropped := slices.Clone(r.dropped)
	r.mu.Unlock()
	if !slices.Equal(dropped, []int{1, 2, 3}) {
		t.Fatalf("dropped %v, want [1 2 3]", dropped)
	}
	r.settled(1, 0) // and the gauge says none waits
	if n := r.waitedTotal(); n != 2 {
		t.Fatalf("counted %d tasks that waited, want 2 (1 and 2)", n)
	}
}

// TestGatePauses: while paused, the gate starts nothing, not even in a
// free slot or in the slot of a task that ended (it is given up), and a
// task past hold does not let another in; once every pause is resumed,
// what waited starts, the oldest first.
func TestGatePauses(t *testing.T) {
	r := newGateRig(t, 2, 20*time.Millisecond)
	r.g.Go(0)
	r.begins(0, "")
	r.g.pause()
	r.g.pause()
	r.g.Go(1)
	r.g.Go(2)
	r.g.Go(3)
	r.settled(1, 3) // a free slot, and nothing started in it
	r.end(0)
	r.settled(2, 3) // 0's slot given up, not handed to 1
	time.Sleep(40 * time.Millisecond)
	select {
	case n := <-r.began:
		t.Fatalf("%d began while the gate was paused", n)
	default:
	}
	r.g.resume()
	r.settled(2, 3) // one pause is left
	r.g.resume()
	first := []int{r.next(), r.next()} // on goroutines of their own: in any order
	slices.Sort(first)
	if !slices.Equal(first, []int{1, 2}) {
		t.Fatalf("began %v after the pauses, want [1 2]", first)
	}
	r.end(1)
	r.begins(3, "after 1 ended")
	r.end(2)
	r.end(3)
	r.settled(2, 0)
}
