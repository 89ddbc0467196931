//go:build !linux

package deliver

// peerPoller is Linux's (epoll); elsewhere there is none, so each
// WebSocket has a reader goroutine and no connection is detached from
// net/http: a long-poll waits on its handler's goroutine.
type peerPoller struct{}

// watched is what the poller reports a socket's readiness to.
type watched interface {
	ready(hup bool)
}

func (e *Engine) peers() *peerPoller { return nil }

func (p *peerPoller) watch(int, watched, *uint64) bool { return false }
func (p *peerPoller) rearm(int, uint64)                {}
func (p *peerPoller) unwatch(int, uint64)              {}

func (e *Engine) watchPeer(*stream) bool { return false }
func (e *Engine) rearmPeer(*stream)      {}
func (e *Engine) unwatchPeer(*stream)    {}

func delayAcks(int) {}
