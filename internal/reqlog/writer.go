package reqlog

import (
	"io"
	"sync"
	"time"
)

// Writer is the log's output with the access log's lines batched, as
// nginx's access_log buffer= flush=: a line written to Lines waits in a
// buffer, which goes out in one write when it holds size bytes, every
// (at most) after its first line, with the next line written to the
// Writer itself, on Flush and on Close. Every other line (a warning, an
// error, the shutdown's) is written to the Writer at once, after the lines
// waiting: there is one buffer, so the output keeps the order in which the
// lines were logged, and only access lines are ever held.
//
// What a kill -9 (or a crash outside the main goroutine) loses is what the
// buffer holds: at most the access lines of the last flush interval.
type Writer struct {
	mu     sync.Mutex
	out    io.Writer
	buf    []byte
	size   int
	every  time.Duration
	timer  *time.Timer // armed while buf holds lines
	armed  bool
	closed bool // lines are written at once
}

// NewWriter returns a Writer on out that holds up to size bytes of access
// lines for up to every; every <= 0 holds none (each line is written at
// once, unbatched).
func NewWriter(out io.Writer, size int, every time.Duration) *Writer {
	w := &Writer{out: out, size: size, every: every, closed: every <= 0}
	if !w.closed {
		w.buf = make([]byte, 0, size+size/4) // room for the line that fills it
	}
	return w
}

// Write writes p, after the lines waiting, in one write.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	if err := w.flushLocked(); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Lines returns the side of w whose writes wait: the access log's.
func (w *Writer) Lines() io.Writer { return (*lines)(w) }

type lines Writer

func (l *lines) Write(p []byte) (int, error) {
	w := (*Writer)(l)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	if len(w.buf) >= w.size {
		return len(p), w.flushLocked()
	}
	if !w.armed {
		w.armed = true
		if w.timer == nil {
			w.timer = time.AfterFunc(w.every, w.flushDue)
		} else {
			w.timer.Reset(w.every)
		}
	}
	return len(p), nil
}

// flushDue is the timer's: it writes what waits. A timer stopped too late
// to keep it from running may find lines of the next interval, and write
// them early: no harm.
func (w *Writer) flushDue() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	w.flushLocked()
}

// Flush writes the lines waiting.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flushLocked()
}

// Close writes the lines waiting and stops batching: lines written to
// Lines afterwards (a stream's that ends late) are written at once. It
// does not close the output.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	return w.flushLocked()
}

// flushLocked writes buf in one write. On an error the lines are dropped,
// as an unbatched log's line would be, rather than kept to grow.
func (w *Writer) flushLocked() error {
	if w.armed {
		w.timer.Stop()
		w.armed = false
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.out.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}
