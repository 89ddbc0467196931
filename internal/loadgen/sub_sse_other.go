//go:build !linux

package loadgen

// sseHandoff is empty here: without a reactor, the receiver reads its
// connection itself.
type sseHandoff struct{}

// follow feeds the stream's body to acc from the receiver's own goroutine,
// blocked in a read between events. It returns when the body ends (nil),
// the connection fails, or close is called.
func (s *sseReceiver) follow(acc *account) error {
	return s.c.streamBody(s.head, func(p []byte) error {
		acc.scan(p)
		return nil
	})
}

// stop ends follow by closing the connection.
func (s *sseReceiver) stop() { s.c.close() }
