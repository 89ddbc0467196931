package deliver

// FanoutStreams returns how many streams the fan-out workers own.
func (e *Engine) FanoutStreams() int64 {
	var n int64
	for _, w := range e.fanout().workers {
		n += w.load.Load()
	}
	return n
}

// KeyStreams returns how many streams key has open.
func (e *Engine) KeyStreams(key string) int { return e.keys.count(key) }

// ParkedPolls returns how many polls are parked with the fan-out workers.
func (e *Engine) ParkedPolls() int64 { return e.parkedCount.Load() }

// IdleConns returns how many detached connections wait for a request.
func (e *Engine) IdleConns() int {
	e.connMu.Lock()
	defer e.connMu.Unlock()
	return len(e.idle)
}

// FanoutRing reports whether the fan-out workers write through io_uring.
func (e *Engine) FanoutRing() bool {
	for _, w := range e.fanout().workers {
		if w.ring == nil {
			return false
		}
	}
	return true
}
