package loadgen

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// The floor measurement writes, and accounts for the writers' CPU.
func TestMeasureFloor(t *testing.T) {
	if _, ok := threadCPU(); !ok {
		t.Skip("no per-thread CPU time on " + runtime.GOOS)
	}
	res, err := MeasureFloor(context.Background(), FloorConfig{Conns: 20, Size: 300, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Conns != 20 || res.Writes == 0 || res.CPU <= 0 || res.PerWriteUS <= 0 {
		t.Fatalf("implausible floor: %+v", res)
	}
}

func TestFloorMessage(t *testing.T) {
	for _, n := range []int{300, 1000} {
		if got := len(floorMessage(n)); got != n {
			t.Errorf("floorMessage(%d) is %d bytes", n, got)
		}
	}
}
