//go:build !linux

package loadgen

import "time"

// threadCPU is not available here: only Linux reports a thread's CPU time
// (RUSAGE_THREAD), which the floor measurement needs.
func threadCPU() (time.Duration, bool) { return 0, false }
