package loadgen

import (
	"context"
	"testing"
	"time"
)

// clock is a CPU clock that advances by step at each reading, for busy
// readings, then stands still.
type clock struct {
	now  time.Duration
	step time.Duration
	busy int
}

func (c *clock) read() (time.Duration, bool) {
	if c.busy > 0 {
		c.busy--
		c.now += c.step
	}
	return c.now, true
}

func TestSettleWaitsForEveryClock(t *testing.T) {
	const window = time.Millisecond
	quiet := &clock{}
	// Busy for its first reading and three windows more; a window's tenth
	// is 100µs, so 150µs per window is busy and 50µs would not be.
	busy := &clock{step: 150 * time.Microsecond, busy: 4}
	readings := 0
	counted := func() (time.Duration, bool) { readings++; return busy.read() }
	waited, ok := settle(context.Background(), []func() (time.Duration, bool){quiet.read, counted}, window, time.Minute)
	if !ok {
		t.Fatalf("settle gave up after %s", waited)
	}
	// One reading to start from, three busy windows, then the quiet one.
	if readings != 5 {
		t.Fatalf("settled after %d readings of the busy clock, want 5", readings)
	}

	light := &clock{step: 50 * time.Microsecond, busy: 100}
	lightReadings := 0
	_, ok = settle(context.Background(), []func() (time.Duration, bool){func() (time.Duration, bool) { lightReadings++; return light.read() }}, window, time.Minute)
	if !ok || lightReadings != 2 {
		t.Fatalf("a clock under a tenth of the window: settled %v after %d readings, want true after 2", ok, lightReadings)
	}
}

func TestSettleGivesUp(t *testing.T) {
	busy := &clock{step: time.Second, busy: 1 << 30}
	waited, ok := settle(context.Background(), []func() (time.Duration, bool){busy.read}, time.Millisecond, 20*time.Millisecond)
	if ok {
		t.Fatal("settled with a clock that never stops")
	}
	if waited < 20*time.Millisecond {
		t.Fatalf("gave up after %s, before the limit", waited)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := settle(ctx, []func() (time.Duration, bool){busy.read}, time.Millisecond, time.Minute); ok {
		t.Fatal("settled once the context ended")
	}
}

func TestSettleIgnoresAClockItCannotRead(t *testing.T) {
	n := 0
	gone := func() (time.Duration, bool) { n++; return time.Duration(n) * time.Hour, false }
	if _, ok := settle(context.Background(), []func() (time.Duration, bool){gone}, time.Millisecond, time.Minute); !ok {
		t.Fatal("a server whose CPU cannot be read kept the run from settling")
	}
}
