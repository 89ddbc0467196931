package framing

import (
	"net"
	"time"
)

// Pacer bounds how fast a Writer writes (a fault rule's slow stream):
// Take waits until up to n bytes may go and returns how many, at least
// one; its error ends the Flush.
type Pacer interface {
	Take(n int) (int, error)
}

// SetPacer makes Flush write no faster than p allows (nil: as fast as the
// client takes it). The stream's owner calls it, between Flushes.
func (s *Writer) SetPacer(p Pacer) { s.pace = p }

// Paced reports whether a Pacer is set.
func (s *Writer) Paced() bool { return s.pace != nil }

// writePaced writes the queued frames of a detached connection in the
// pieces its pacer allows, splitting frames where it must (the client
// sees a slow server, not a different stream).
func (s *Writer) writePaced() error {
	frames := s.frames
	defer func() {
		clear(s.frames)
		s.frames = s.frames[:0]
	}()
	var group net.Buffers
	for len(frames) > 0 {
		k, err := s.pace.Take(flushChunk)
		if err != nil {
			return err
		}
		group = group[:0]
		for k > 0 && len(frames) > 0 {
			f := frames[0]
			if len(f) > k {
				group, frames[0] = append(group, f[:k]), f[k:]
				break
			}
			group, k, frames = append(group, f), k-len(f), frames[1:]
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
		if _, err := group.WriteTo(s.conn); err != nil {
			return err
		}
	}
	return nil
}
