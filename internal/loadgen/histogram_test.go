package loadgen

import (
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Add(time.Duration(i) * time.Millisecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}}
	for _, tc := range tests {
		got := h.Quantile(tc.q)
		if got < tc.want || float64(got) > float64(tc.want)*1.03 {
			t.Errorf("Quantile(%v) = %v, want %v within 3%%", tc.q, got, tc.want)
		}
	}
	var m Histogram
	m.Add(2 * time.Second)
	h.Merge(&m)
	if h.Count() != 1001 || h.Max() != 2*time.Second {
		t.Fatalf("merged: n=%d max=%v", h.Count(), h.Max())
	}
	var empty Histogram
	if empty.Quantile(0.99) != 0 {
		t.Fatal("empty histogram has a quantile")
	}
}
