//go:build !linux

package stream

import "syscall"

const canTryWrite = false

func (v *Vectors) writev(syscall.RawConn, [][]byte) (int, error) { return 0, ErrWouldBlock }
