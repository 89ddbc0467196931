package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Reconnection policy of a Stream.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// idleTimeout cuts a connection that delivered nothing, not even a
	// keep-alive comment (the server sends one every 15 s), for this long:
	// a half-open TCP connection would otherwise hang the Stream forever.
	idleTimeout = 45 * time.Second
)

// errProtocol marks answers that are not herald's event stream; retrying
// would get the same answer, so a Stream stops on them.
var errProtocol = errors.New("protocol error")

// StreamOptions select what a Stream follows.
type StreamOptions struct {
	// Topics are topic filters such as "app.>"; none means every topic the
	// key may read.
	Topics []string
	// After is the position to start after (0: the start of the log). Nil
	// means "now": the events appended after the Stream first connects.
	After *uint64
	// OnRetry, if set, is called by Next when a connection attempt failed
	// or a connection ended, with the reason and the delay before the next
	// attempt. It lets a program log reconnections that Next hides.
	OnRetry func(err error, wait time.Duration)
	// OnReconnect, if set, is called by Next when a connection succeeded
	// after OnRetry reported a failure, with the position it resumes after.
	OnReconnect func(after uint64)
}

// Stream follows the log over Server-Sent Events (GET /v1/stream) with
// automatic exact resume: when the connection ends (a network failure, a
// server restart) it reconnects with backoff, 100 ms doubling to 5 s, and
// asks for the events after the last one Next returned. A consumer thus sees
// every matching event once, in order.
//
// Next must not be called concurrently with itself or ResumeAfter; Close and
// Position may be called from any goroutine.
type Stream struct {
	c           *Client
	topics      []string
	onRetry     func(error, time.Duration)
	onReconnect func(uint64)
	retried     bool            // a failure was reported since the last connection
	ctx         context.Context // the Stream's lifetime; Close cancels it
	cancel      context.CancelFunc

	pos     atomic.Uint64 // seq of the last event Next returned, or the start position
	started bool          // pos is known (After was given or learned from the server)
	delay   time.Duration // current backoff step; 0 before the first failure
	wait    time.Duration // sleep before the next connection attempt
	err     error         // sticky: a reset or a failure retrying cannot cure

	mu   sync.Mutex
	conn *sseConn // the open connection, nil between connections
}

// Stream returns a Stream of the events that match opts. It connects
// lazily, on the first Next. ctx bounds the whole Stream: ending it has the
// effect of Close.
func (c *Client) Stream(ctx context.Context, opts StreamOptions) *Stream {
	s := &Stream{c: c, topics: opts.Topics, onRetry: opts.OnRetry, onReconnect: opts.OnReconnect}
	s.ctx, s.cancel = context.WithCancel(ctx)
	if opts.After != nil {
		s.pos.Store(*opts.After)
		s.started = true
	}
	return s
}

// Position returns the sequence number of the last event Next returned, or
// the position the Stream started after if it has returned none yet (0
// while a Stream started "now" has not connected). Resuming after Position
// continues exactly where this Stream stopped.
func (s *Stream) Position() uint64 { return s.pos.Load() }

// ResumeAfter moves the Stream to continue after seq. After Next reported
// ErrPositionExpired it is how a caller accepts the gap (ResumeAfter of the
// error's Earliest-1) or jumps elsewhere; after ErrPositionAhead, how it
// starts again after the server's Last. Next then resumes at once.
func (s *Stream) ResumeAfter(seq uint64) {
	s.closeConn()
	s.pos.Store(seq)
	s.started = true
	s.delay, s.wait = 0, 0
	if errors.Is(s.err, ErrPositionExpired) || errors.Is(s.err, ErrPositionAhead) {
		s.err = nil
	}
}

// Close ends the Stream and its connection. Next then returns ErrClosed.
func (s *Stream) Close() error {
	s.cancel()
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		<-c.done // the reader ends promptly: its context is cancelled
	}
	return nil
}

// Next returns the next matching event, waiting as long as it takes and
// reconnecting as needed. It returns ctx.Err() if ctx ends first (the
// Stream stays usable), ErrClosed after Close, an *APIError matching
// ErrPositionExpired when the server reset the Stream because events after
// its position were removed by retention (see ResumeAfter), one matching
// ErrPositionAhead when its position is past the end of the server's log
// (the server was replaced), and any error
// that retrying cannot cure, such as ErrUnauthorized or ErrForbidden.
func (s *Stream) Next(ctx context.Context) (Event, error) {
	for {
		if s.err != nil {
			return Event{}, s.err
		}
		if s.ctx.Err() != nil {
			return Event{}, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return Event{}, err
		}
		c := s.current()
		if c == nil {
			if err := s.connect(ctx); err != nil {
				return Event{}, err
			}
			continue
		}
		select {
		case raw := <-c.events:
			ev, ok, err := s.decode(raw)
			if err != nil {
				s.closeConn()
				s.err = err
				return Event{}, err
			}
			if ok {
				return ev, nil
			}
		case <-c.done:
			s.closeConn()
			s.wait = s.delay
			s.retrying(fmt.Errorf("stream ended: %w", c.err), s.wait)
		case <-ctx.Done():
			return Event{}, ctx.Err()
		case <-s.ctx.Done():
			return Event{}, ErrClosed
		}
	}
}

// decode turns a raw SSE event into an Event. ok is false for an event
// the Stream has already delivered, which it skips so that a consumer never
// sees one twice.
func (s *Stream) decode(raw sseEvent) (ev Event, ok bool, err error) {
	// The reset control event has no id; an ordinary event whose type
	// happens to be "reset" has one.
	if raw.event == "reset" && !raw.hasID {
		var r struct {
			After    uint64  `json:"after"`
			Earliest uint64  `json:"earliest"`
			Last     *uint64 `json:"last"`
		}
		if err := json.Unmarshal(raw.data, &r); err != nil {
			return Event{}, false, fmt.Errorf("%w: reset event: %v", errProtocol, err)
		}
		if r.Last != nil {
			return Event{}, false, &APIError{
				Status:  http.StatusConflict,
				Code:    "position_ahead",
				Message: fmt.Sprintf("position %d is past the end of the server's log (its last event is %d): was it replaced?", r.After, *r.Last),
				Last:    *r.Last,
			}
		}
		return Event{}, false, &APIError{
			Status:   http.StatusGone,
			Code:     "position_expired",
			Message:  fmt.Sprintf("events after %d were removed by retention; the earliest stored is %d", r.After, r.Earliest),
			Earliest: r.Earliest,
		}
	}
	if err := json.Unmarshal(raw.data, &ev); err != nil {
		return Event{}, false, fmt.Errorf("%w: event %q: %v", errProtocol, raw.id, err)
	}
	if ev.Seq <= s.pos.Load() && s.started {
		return Event{}, false, nil
	}
	s.pos.Store(ev.Seq)
	s.started = true
	return ev, true, nil
}

func (s *Stream) retrying(err error, wait time.Duration) {
	s.retried = true
	if s.onRetry != nil {
		s.onRetry(err, wait)
	}
}

// connect opens a connection, retrying with backoff until it succeeds, ctx
// or the Stream ends, or the server gives an answer that retrying cannot
// change (which then sticks).
func (s *Stream) connect(ctx context.Context) error {
	for {
		if s.wait > 0 {
			t := time.NewTimer(s.wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-s.ctx.Done():
				t.Stop()
				return ErrClosed
			}
			s.wait = 0
		}
		err := s.dial(ctx)
		switch {
		case err == nil:
			s.delay = minBackoff // success: the next reconnection starts over
			if s.retried && s.onReconnect != nil {
				s.onReconnect(s.pos.Load())
			}
			s.retried = false
			return nil
		case s.ctx.Err() != nil:
			return ErrClosed
		case ctx.Err() != nil:
			return ctx.Err()
		case permanent(err):
			s.err = err
			return err
		}
		s.delay = nextBackoff(s.delay)
		s.wait = s.delay
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryAfter > s.wait {
			s.wait = ae.RetryAfter
		}
		s.retrying(err, s.wait)
	}
}

// nextBackoff doubles d within [minBackoff, maxBackoff].
func nextBackoff(d time.Duration) time.Duration {
	return min(max(2*d, minBackoff), maxBackoff)
}

// permanent reports whether retrying cannot cure err: the server refused
// the request itself (401, 403, 400, …) or is not speaking herald.
func permanent(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return !ae.Temporary()
	}
	return errors.Is(err, errProtocol)
}

// dial opens one connection at the current position. A Stream started
// "now" first asks the server where "now" is, so that events appended
// between a failed first connection and its retry are not lost.
func (s *Stream) dial(ctx context.Context) error {
	cctx, cancel := context.WithCancel(s.ctx)
	// Next's ctx may end while the server has not answered yet; the
	// connection itself outlives that call, so it only borrows ctx here.
	stop := context.AfterFunc(ctx, cancel)
	c, err := s.dialConn(cctx, cancel)
	if !stop() {
		if c != nil {
			c.cancel()
			<-c.done
		}
		return ctx.Err()
	}
	if err != nil {
		cancel()
		return err
	}
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
	return nil
}

func (s *Stream) dialConn(ctx context.Context, cancel context.CancelFunc) (*sseConn, error) {
	if !s.started {
		_, next, err := s.c.Poll(ctx, PollOptions{Topics: s.topics, Limit: 1})
		if err != nil {
			return nil, err
		}
		s.pos.Store(next)
		s.started = true
	}
	pos := s.pos.Load()
	req, err := s.c.newRequest(ctx, http.MethodGet, "/v1/stream", readQuery(s.topics, &pos), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errProtocol, err)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%w: base URL %q is not http or https", errProtocol, s.c.base)
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	// The SSE resume header; the after parameter carries the same position
	// in case something on the way drops the header.
	req.Header.Set("Last-Event-ID", strconv.FormatUint(pos, 10))
	resp, err := s.c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, readAPIError(resp)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: stream answered with content type %q, not text/event-stream", errProtocol, mt)
	}
	c := &sseConn{cancel: cancel, events: make(chan sseEvent), done: make(chan struct{})}
	go c.read(ctx, resp.Body)
	return c, nil
}

func (s *Stream) current() *sseConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// closeConn ends the open connection, if any, and waits for its reader.
func (s *Stream) closeConn() {
	s.mu.Lock()
	c := s.conn
	s.conn = nil
	s.mu.Unlock()
	if c != nil {
		c.cancel()
		<-c.done
	}
}
