//go:build !linux

package loadgen

// reactorPool has no reactors here: epoll is Linux's, so each stream
// receiver reads its connection on its own goroutine (see
// sub_stream_other.go).
type reactorPool struct{}

func newReactorPool() *reactorPool { return &reactorPool{} }

// close has nothing to stop.
func (p *reactorPool) close() {}
