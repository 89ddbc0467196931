//go:build unix

package server

import "syscall"

// openFileLimit returns the soft limit on open files, 0 if unknown.
func openFileLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil || l.Cur <= 0 {
		return 0
	}
	return uint64(l.Cur)
}
