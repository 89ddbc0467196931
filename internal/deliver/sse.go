package deliver

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-io/herald/internal/faults"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/reqlog"
)

// maxFrameEvents bounds how many ready events one write carries.
const maxFrameEvents = 256

// SSEStream is what a dialect's Server-Sent Events endpoint supplies to
// ServeSSE: where to read, how to frame, and how to say goodbye.
type SSEStream struct {
	Transport string   // metrics label, e.g. "sse", "hue-sse"
	Dialect   string   // the fault rules' name of the API: "native", "hue", "plex"…
	Sub       *hub.Sub // the stream's position and filter; ServeSSE closes it
	// Key is the id of the key the stream is opened with: the stream
	// counts against its cap (Config.StreamsPerKey) until it ends; ""
	// counts against none.
	Key       string
	Options   framing.SSEOptions
	KeepAlive time.Duration // send Idle after this long without a write
	Idle      []byte        // a comment, or the dialect's own ping event
	// Frames appends the frames for evs to dst and says how many events
	// they carry (a dialect may drop some with a filter of its own). The
	// frames are written without copying: they must not change afterwards
	// (an event's Wire bytes, or a fresh slice).
	Frames func(dst [][]byte, evs []*hub.Event) ([][]byte, int)
	// Ended is called when reading fails, e.g. the position is older than
	// retention: it returns a last frame to send (or nil) and whether the
	// stream goes on (after moving Sub) or ends.
	Ended func(err error) (frame []byte, goOn bool)
	// Gather, if set, holds the first ready events this long so that what
	// follows them closely leaves in the same write (Hue batches a
	// bridge's changes into one message).
	Gather time.Duration
}

// stream is one open stream, SSE or WebSocket (see ServeWS), detached
// from net/http or not. It is owned by exactly one goroutine at a time
// (see the package doc): the handler or a stream goroutine while it waits
// or writes with blocking calls, or a fan-out worker while it is caught
// up. Only the owner writes events and closes it.
type stream struct {
	e    *Engine
	spec SSEStream
	out  *framing.Writer
	fd   int    // the socket (framing.SocketFD); -1: never served by the fan-out workers
	bye  []byte // written when the server shuts down (WebSocket: close 1001)
	// logged writes the request's access-log line when the stream ends
	// (nil: none); status is what its head said.
	logged func(status int, bytes int64)
	status int
	// sayBye writes bye when the stream ends before a shutdown too (a
	// restart rule's cut).
	sayBye bool

	// A WebSocket's reader (see peerPoller) also writes — pongs, the
	// closing handshake: wmu serialises it with the owner's writes, and
	// closed (under wmu) stops it once the owner has closed. gone says the
	// peer is done: the owner ends the stream at its next look.
	wmu       *sync.Mutex // nil for SSE: the owner is the only writer
	closed    bool
	gone      atomic.Bool
	peerToken uint64 // the poller's registration (see watchPeer); 0: none

	// Fan-out worker state.
	lastWrite int64 // unix nanoseconds
	holdUntil int64 // gather: write no earlier than this (0: not holding)

	// Fault rules (see faults.go): what the stream suffers, decided under
	// rules; gather is spec.Gather, or longer for a delay rule.
	opened time.Time
	rules  *faults.Rules
	fault  *streamFaults
	gather time.Duration
}

// ServeSSE opens the event stream and delivers events to it until the
// client leaves, a write fails, Ended ends it, or the server shuts down.
// If the stream's key already has as many streams open as it may, it
// writes nothing and returns ErrTooManyStreams for the caller to answer;
// otherwise it returns nil, the stream served or handed over.
//
// On HTTP/1.x the connection is detached from net/http once the stream is
// open. A plain-TCP stream that has caught up is then served by the
// engine's fan-out workers (a few goroutines for all streams, one
// non-blocking writev per connection for the events ready for it); a
// stream that is behind, or whose socket is full, gets a goroutine of its
// own until it has caught up again. TLS and HTTP/2 streams keep their
// goroutine.
func (e *Engine) ServeSSE(w http.ResponseWriter, r *http.Request, spec SSEStream) error {
	opened := time.Now()
	if err := e.admit(spec.Key, spec.Sub); err != nil {
		return err
	}
	if spec.Options.WriteTimeout <= 0 {
		spec.Options.WriteTimeout = e.writeTimeout
	}
	s, err := framing.DetachSSE(w, r, spec.Options)
	if err != nil {
		e.keys.release(spec.Key)
		spec.Sub.Close()
		return nil // the head could not be written: nothing to serve
	}
	st := &stream{e: e, spec: spec, out: s, fd: -1}
	e.openFaults(st, opened)
	e.metrics.Subscribers.WithLabelValues(spec.Transport).Inc()
	if !s.Detached() {
		ctx, cancel := e.StreamContext(r)
		defer cancel()
		e.run(ctx, st)
		return nil
	}
	st.fd = framing.SocketFD(s.Conn())
	st.logged, st.status = reqlog.From(r.Context()).Detach(), http.StatusOK
	if !e.Go(func() { e.run(e.shutdown, st) }) {
		e.end(st) // shutting down
	}
	return nil
}

// run serves the stream with blocking waits and writes until it ends,
// or until it has caught up and a fan-out worker takes it over.
func (e *Engine) run(ctx context.Context, st *stream) {
	sub := st.spec.Sub
	var evs []*hub.Event
	var frames [][]byte
	wait := e.waitUnder(ctx)
	defer func() { wait.release() }()
	for {
		if st.gone.Load() {
			break // a WebSocket client closed
		}
		if err := st.flush(); err != nil {
			e.streamCut(st.spec.Transport, err)
			break // the client resumes from the last id it got
		}
		if rs := e.faults.Rules(); rs != st.rules || st.fault != nil {
			if e.cutDue(st, rs, time.Now().UnixNano()) {
				e.cut(st) // after whole events: the client resumes exactly
				return
			}
		}
		if st.fd >= 0 && ctx.Err() == nil && !st.paced() {
			var ok bool
			if evs, ok = sub.PollWindow(evs[:0], maxFrameEvents); ok && len(evs) == 0 {
				// Caught up: a worker serves it from now on. Its writes
				// never block, so no deadline may linger from ours.
				st.out.Conn().SetWriteDeadline(time.Time{})
				if e.fanout().join(st) {
					return
				}
			}
			if len(evs) > 0 {
				if len(evs) < maxFrameEvents && st.gather > 0 {
					// Found here rather than by a worker (the stream
					// had not joined one yet): held all the same.
					st.held()
					evs = sub.Gather(ctx, evs, maxFrameEvents, st.gather)
				}
				frames = e.queue(st, frames, evs)
				continue
			}
		}
		var err error
		evs, err = sub.NextWithin(wait, maxFrameEvents, st.idleWait())
		if err != nil && ctx.Err() == nil && wait.Err() != nil {
			wait.release() // the rules changed: look at them again
			wait = e.waitUnder(ctx)
			continue
		}
		if err == nil && len(evs) > 0 && st.gather > 0 {
			st.held()
			evs = sub.Gather(ctx, evs, maxFrameEvents, st.gather)
		}
		switch {
		case err != nil && ctx.Err() == nil && st.spec.Ended != nil:
			frame, goOn := st.spec.Ended(err)
			if frame != nil {
				st.out.Add(frame)
			}
			if !goOn {
				st.flush()
				e.end(st)
				return
			}
		case err != nil:
			e.end(st)
			return
		case evs == nil:
			st.out.Add(st.spec.Idle) // also before a timed cut: harmless, and a cut follows at once
		default:
			frames = e.queue(st, frames, evs)
		}
	}
	e.end(st)
}

// queue frames evs onto the stream for its next Flush (those an
// after_events cut allows).
func (e *Engine) queue(st *stream, frames [][]byte, evs []*hub.Event) [][]byte {
	frames, n := st.spec.Frames(frames[:0], st.clip(evs))
	for _, f := range frames {
		st.out.Add(f)
	}
	st.counted(n)
	e.metrics.EventsDelivered.WithLabelValues(st.spec.Transport).Add(float64(n))
	clear(frames)
	return frames
}

// flush writes what the owner queued, under the write lock if the stream
// has one.
func (st *stream) flush() error {
	if st.wmu == nil {
		return st.out.Flush()
	}
	st.wmu.Lock()
	defer st.wmu.Unlock()
	return st.out.Flush()
}

// byeTimeout bounds the goodbye frame at shutdown: a client that does not
// take a few bytes at once does not hold the server up.
const byeTimeout = 100 * time.Millisecond

// end releases a stream that is over; at shutdown it first says goodbye
// if the stream has a way to (bye).
func (e *Engine) end(st *stream) {
	if st.wmu != nil {
		st.wmu.Lock()
	}
	if st.bye != nil && (st.sayBye || e.shutdown.Err() != nil) && !st.gone.Load() {
		st.out.WriteNow(st.bye, byeTimeout)
	}
	st.closed = true
	if st.peerToken != 0 {
		e.unwatchPeer(st) // before Close: the number must not be reused under it
	}
	if st.wmu != nil {
		st.wmu.Unlock()
	}
	st.spec.Sub.Close()
	st.out.Close()
	if st.logged != nil {
		st.logged(st.status, st.out.Sent())
	}
	e.keys.release(st.spec.Key)
	e.metrics.Subscribers.WithLabelValues(st.spec.Transport).Dec()
}
