package loadgen

import (
	"syscall"
	"time"
)

// raiseFileLimit does nothing: Windows has no per-process limit on
// sockets to raise.
func raiseFileLimit() {}

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var created, exited, kernel, user syscall.Filetime
	self, err := syscall.GetCurrentProcess()
	if err != nil || syscall.GetProcessTimes(self, &created, &exited, &kernel, &user) != nil {
		return 0
	}
	return filetime(kernel) + filetime(user)
}

// filetime converts a span in 100-nanosecond intervals, as GetProcessTimes
// reports them.
func filetime(f syscall.Filetime) time.Duration {
	return time.Duration(int64(f.HighDateTime)<<32|int64(f.LowDateTime)) * 100
}
