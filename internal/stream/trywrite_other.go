//go:build !linux

package stream

const canTryWrite = false

func (v *Vectors) writev(int, [][]byte) (int, error) { return 0, ErrWouldBlock }
