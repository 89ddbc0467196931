//go:build !linux

package framing

const canTryWrite = false

func (v *Vectors) writev(int, [][]byte) (int, error) { return 0, ErrWouldBlock }
func read(int, []byte) (int, error)                  { return 0, ErrWouldBlock }
