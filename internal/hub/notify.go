package hub

// Notify returns the newest sequence the window holds and a channel that is
// closed when a newer event arrives; nil once the hub is closed (nothing
// will). A fan-out loop that serves many subscribers itself uses it instead
// of one blocked Next per subscriber: one wake-up per event for the whole
// loop.
func (h *Hub) Notify() (last uint64, changed <-chan struct{}) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.wake == nil {
		return h.hi, nil
	}
	h.armed.Store(true)
	return h.hi, h.wake
}

// PollWindow appends to dst up to max events that the window holds for the
// subscription, without blocking and without reading the log, and advances
// the position past them. ok is false when the subscription is behind the
// window (it must catch up with Next, which reads the log) or the hub is
// closed; then nothing is appended and the position is unchanged.
func (s *Sub) PollWindow(dst []*Event, max int) (_ []*Event, ok bool) {
	h := s.h
	h.mu.RLock()
	defer h.mu.RUnlock()
	switch {
	case h.wake == nil || s.pos+1 < h.lo:
		return dst, false
	case s.pos >= h.hi:
		return dst, true
	}
	s.pos = h.scanWindow(s.pos, s.filter, max, func(e *Event) { dst = append(dst, e) })
	return dst, true
}
