//go:build race

package framing

import "syscall"

// raceAcquire and raceRelease tell the race detector that a raw read of
// fd, or a raw write, orders memory as syscall.Read and syscall.Write do:
// with every other read and write in the process. That is how it sees a
// handler's writes before what its client does with the answer (and a
// test's before the request it sends), as it sees net/http's; a raw
// system call is invisible to it. Each costs a system call of no bytes,
// in race builds only.
func raceAcquire(fd int) { syscall.Read(fd, nil) }

func raceRelease() { syscall.Write(-1, nil) }
