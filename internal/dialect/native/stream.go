package native

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/stream"
)

// maxFrameEvents bounds how many ready events are coalesced into one write.
const maxFrameEvents = 256

// openSub resolves a streaming request's filter and start position: after=
// or, for a reconnecting EventSource, Last-Event-ID; by default "now".
func (a *API) openSub(r *http.Request, key *auth.Key, lastEventID bool) (*hub.Sub, error) {
	p, err := parseReadParams(r.URL.Query())
	if err != nil {
		return nil, err
	}
	f, err := subscribeFilter(key, p.filter, p.hasTopics)
	if err != nil {
		return nil, err
	}
	after := p.after
	if !p.hasAfter {
		if after, err = a.core.Hub.Now(r.Context()); err != nil {
			return nil, err
		}
	}
	if id := stream.LastEventID(r); lastEventID && id != "" {
		if after, err = stream.ParseSeq(id); err != nil {
			return nil, fmt.Errorf("%w: Last-Event-ID must be a sequence number, not %q", errBadRequest, id)
		}
	}
	return a.core.Hub.Subscribe(after, f), nil
}

// resetBody tells a client its position is older than retention: it may
// resume after earliest-1 (accepting the gap) or start over.
func resetBody(pos uint64, ee *eventlog.ExpiredError) []byte {
	return fmt.Appendf(nil, `{"after":%d,"earliest":%d}`, pos, ee.Earliest)
}

// sse handles GET /v1/stream. On HTTP/1.x the connection is detached from
// net/http once the stream is open, so an idle subscriber costs little more
// than its socket; the stream then ends on a failed write (a keep-alive
// finds a gone client within KeepAlive) or at shutdown.
func (a *API) sse(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	sub, err := a.openSub(r, key, true)
	if err != nil {
		writeReadErr(w, err)
		return
	}
	opts := stream.SSEOptions{WriteTimeout: a.core.WriteTimeout, Retry: RetryHint}
	s, err := stream.DetachSSE(w, r, opts)
	if err != nil {
		sub.Close()
		return
	}
	if s.Detached() {
		ctx, cancel := context.WithCancel(a.core.Shutdown)
		started := a.core.Go(func() {
			defer cancel()
			defer s.Close()
			defer sub.Close()
			a.streamSSE(ctx, s, sub)
		})
		if !started { // shutting down
			cancel()
			s.Close()
			sub.Close()
		}
		return
	}
	defer sub.Close()
	ctx, cancel := a.core.StreamContext(r)
	defer cancel()
	a.streamSSE(ctx, s, sub)
}

// streamSSE writes events to s until ctx ends or a write fails.
func (a *API) streamSSE(ctx context.Context, s *stream.SSE, sub *hub.Sub) {
	gauge := a.core.Metrics.Subscribers.WithLabelValues("sse")
	gauge.Inc()
	defer gauge.Dec()
	delivered := a.core.Metrics.EventsDelivered.WithLabelValues("sse")
	for {
		evs, err := a.next(ctx, sub)
		switch {
		case err == nil && evs == nil:
			s.Comment("keep-alive")
		case err == nil:
			for _, e := range evs {
				s.Add(e.Wire(a.sseFmt))
			}
			delivered.Add(float64(len(evs)))
		default:
			var ee *eventlog.ExpiredError
			if errors.As(err, &ee) {
				s.Event("", "reset", resetBody(sub.Position(), ee))
				s.Flush()
			}
			return
		}
		if err := s.Flush(); err != nil {
			a.core.StreamCut("sse", err)
			return // cut; the client resumes from the last id it got
		}
	}
}

// next waits for events up to the keep-alive interval: nil, nil means the
// interval passed with none. Any error ends the stream.
func (a *API) next(ctx context.Context, sub *hub.Sub) ([]*hub.Event, error) {
	return sub.NextWithin(ctx, maxFrameEvents, a.keepAlive)
}

// websocket handles GET /v1/ws: one JSON text frame per event.
func (a *API) websocket(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	sub, err := a.openSub(r, key, false)
	if err != nil {
		writeReadErr(w, err)
		return
	}
	defer sub.Close()
	a.core.ServeWS(w, r, dialect.WSStream{
		Transport: "websocket",
		Format:    a.jsonFmt,
		Next:      func(ctx context.Context) ([]*hub.Event, error) { return a.next(ctx, sub) },
		Ended: func(ctx context.Context, ws *stream.WS, err error) {
			var ee *eventlog.ExpiredError
			if !errors.As(err, &ee) {
				ws.Close(websocket.StatusInternalError, "stream failed")
				return
			}
			frame := append([]byte(`{"reset":`), resetBody(sub.Position(), ee)...)
			if ws.Write(ctx, append(frame, '}')) == nil {
				ws.Close(websocket.StatusNormalClosure, "position expired")
			}
		},
	})
}
