package deliver

import "syscall"

// IdleConnsQuickAck returns how many idle detached connections would ACK
// what they receive at once (TCP_QUICKACK reads 1), not delayed.
func (e *Engine) IdleConnsQuickAck() (n int, err error) {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	for c := range e.idle {
		v, err := syscall.GetsockoptInt(c.fd, syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
		if err != nil {
			return 0, err
		}
		n += v
	}
	return n, nil
}
