//go:build !linux

package loadgen

// reactorPool has no reactors here: epoll is Linux's, so each SSE receiver
// reads its connection on its own goroutine (see sub_sse_other.go).
type reactorPool struct{}

func newReactorPool() *reactorPool { return &reactorPool{} }

// close has nothing to stop.
func (p *reactorPool) close() {}
