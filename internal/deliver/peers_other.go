//go:build !linux

package deliver

// peerPoller is Linux's; elsewhere each WebSocket has a reader goroutine.
type peerPoller struct{}

func (e *Engine) watchPeer(*stream) bool { return false }
func (e *Engine) rearmPeer(*stream)      {}
func (e *Engine) unwatchPeer(*stream)    {}

func delayAcks(int) {}
