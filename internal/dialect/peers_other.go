//go:build !linux

package dialect

// peerPoller is Linux's; elsewhere each WebSocket has a reader goroutine.
type peerPoller struct{}

func (c *Core) watchPeer(*sseConn) bool { return false }
func (c *Core) rearmPeer(*sseConn)      {}
func (c *Core) unwatchPeer(*sseConn)    {}
