package loadgen

import (
	"math"
	"time"
)

// Histogram counts durations in logarithmic buckets (about 2% wide) from
// 1µs to ~100s: fixed memory, no allocation per sample, mergeable.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    time.Duration
}

const (
	histBuckets = 1024
	histBase    = 1.02
)

var histLogBase = math.Log(histBase)

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us < 1 {
		return 0
	}
	b := int(math.Log(us)/histLogBase) + 1
	return min(b, histBuckets-1)
}

// Add records one duration.
func (h *Histogram) Add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

// Merge adds o's samples to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest sample.
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the upper bound of the bucket holding quantile q (0..1).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	target := uint64(math.Ceil(q * float64(h.n)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= target {
			if i == 0 {
				return time.Microsecond
			}
			return min(time.Duration(math.Pow(histBase, float64(i))*float64(time.Microsecond)), h.max)
		}
	}
	return h.max
}
