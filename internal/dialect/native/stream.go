package native

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
)

// openSub resolves a streaming request's filter and start position: after=
// or, for a reconnecting EventSource, Last-Event-ID; by default "now".
func (a *API) openSub(r *http.Request, key *auth.Key, lastEventID bool) (*hub.Sub, error) {
	p, err := parseReadQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	f, err := subscribeFilter(key, p.filter, p.hasTopics)
	if err != nil {
		return nil, err
	}
	from := p.from()
	if id := framing.LastEventID(r); lastEventID && id != "" {
		seq, err := framing.ParseSeq(id)
		if err != nil {
			return nil, badRequest("Last-Event-ID must be a sequence number, not %q", id)
		}
		from = dialect.FromAfter(seq)
	}
	after, err := a.core.Start(r.Context(), from)
	if err != nil {
		return nil, err
	}
	return a.core.Hub.Subscribe(after, f), nil
}

// resetBody tells a client its position is not in the log: older than
// retention (it may resume after earliest-1, accepting the gap, or start
// over) or past its end (the server's log was replaced: start over after
// last).
func resetBody(pos uint64, err error) ([]byte, bool) {
	var ee *eventlog.ExpiredError
	var ae *eventlog.AheadError
	switch {
	case errors.As(err, &ee):
		return fmt.Appendf(nil, `{"after":%d,"earliest":%d}`, pos, ee.Earliest), true
	case errors.As(err, &ae):
		return fmt.Appendf(nil, `{"after":%d,"last":%d}`, ae.After, ae.Last), true
	}
	return nil, false
}

// sse handles GET /v1/stream: one SSE frame per event, its id the log
// position (what Last-Event-ID resumes from). The core serves the stream
// (see deliver.Engine.ServeSSE); a position that is not in the log ends it
// with a reset event that has no id, so the client's resume point stays
// where it was.
func (a *API) sse(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	sub, err := a.openSub(r, req.Key, true)
	if body, ok := resetBody(0, err); ok && errors.Is(err, eventlog.ErrAhead) {
		a.core.Deliver.RefuseSSE(w, r, framing.SSEOptions{Retry: RetryHint}, framing.AppendEvent(nil, "", "reset", body))
		return nil
	}
	if err != nil {
		return err
	}
	return a.core.Deliver.ServeSSE(w, r, deliver.SSEStream{
		Transport: "sse",
		Dialect:   "native",
		Sub:       sub,
		Key:       req.Key.ID,
		Options:   framing.SSEOptions{Retry: RetryHint},
		KeepAlive: a.keepAlive,
		Idle:      keepAliveFrame,
		Frames: func(dst [][]byte, evs []*hub.Event) ([][]byte, int) {
			for _, e := range evs {
				dst = append(dst, e.Wire(a.sseFmt))
			}
			return dst, len(evs)
		},
		Ended: func(err error) ([]byte, bool) {
			body, ok := resetBody(sub.Position(), err)
			if !ok {
				return nil, false
			}
			return framing.AppendEvent(nil, "", "reset", body), false
		},
	})
}

// keepAliveFrame is the comment an idle stream gets every KeepAlive.
var keepAliveFrame = []byte(": keep-alive\n\n")

// websocket handles GET /v1/ws: one JSON text frame per event.
func (a *API) websocket(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	sub, err := a.openSub(r, req.Key, false)
	if body, ok := resetBody(0, err); ok && errors.Is(err, eventlog.ErrAhead) {
		a.core.Deliver.RefuseWS(w, r, framing.WSOptions{}, wsReset(body))
		return nil
	}
	if err != nil {
		return err
	}
	return a.core.Deliver.ServeWS(w, r, deliver.WSStream{
		Transport: "websocket",
		Dialect:   "native",
		Sub:       sub,
		Key:       req.Key.ID,
		Frame:     a.wsFmt,
		KeepAlive: a.keepAlive,
		Ended: func(err error) []byte {
			body, ok := resetBody(sub.Position(), err)
			if !ok {
				return nil
			}
			return wsReset(body)
		},
	})
}

// wsReset is the reset message and the close that follows it.
func wsReset(body []byte) []byte {
	frame := append([]byte(`{"reset":`), body...)
	frame = framing.AppendWSText(nil, append(frame, '}'))
	return append(frame, framing.WSClose(framing.WSNormalClosure, "position not in the log")...)
}
