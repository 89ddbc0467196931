//go:build !linux

package framing

const canTryWrite = false

// iovec stands for a writev's buffer, which no other platform writes here.
type iovec struct{}

func (v *Vectors) writev(int, [][]byte) (int, error) { return 0, ErrWouldBlock }
func read(int, []byte) (int, error)                  { return 0, ErrWouldBlock }
