package faults

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

// Pacer lets bytes go at a slow_read rule's rate: Take waits until up to
// n bytes may go and says how many (at most a tenth of a second's worth,
// so a slow client sees a trickle, not bursts and silences).
type Pacer struct {
	ctx   context.Context
	lim   *rate.Limiter
	chunk int
}

// maxPaceChunk bounds one Take (the framing's write chunk).
const maxPaceChunk = 64 << 10

// NewPacer paces at bytesPerSecond until ctx ends (then Take fails).
func NewPacer(ctx context.Context, bytesPerSecond int) *Pacer {
	chunk := min(max(bytesPerSecond/10, 1), maxPaceChunk)
	return &Pacer{ctx: ctx, lim: rate.NewLimiter(rate.Limit(bytesPerSecond), chunk), chunk: chunk}
}

// Take waits until up to n bytes (n > 0) may go, and returns how many.
func (p *Pacer) Take(n int) (int, error) {
	n = min(n, p.chunk)
	if err := p.lim.WaitN(p.ctx, n); err != nil {
		return 0, err
	}
	return n, nil
}

// Reader reads r at the pacer's rate.
func (p *Pacer) Reader(r io.ReadCloser) io.ReadCloser { return &pacedReader{r, p} }

type pacedReader struct {
	io.ReadCloser
	p *Pacer
}

func (r *pacedReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return r.ReadCloser.Read(b)
	}
	n, err := r.p.Take(len(b))
	if err != nil {
		return 0, err
	}
	return r.ReadCloser.Read(b[:n])
}
