package native

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
)

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
	if id := framing.LastEventID(r); lastEventID && id != "" {
		if after, err = framing.ParseSeq(id); err != nil {
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

// sse handles GET /v1/stream: one SSE frame per event, its id the log
// position (what Last-Event-ID resumes from). The core serves the stream
// (see deliver.Engine.ServeSSE); an expired position ends it with a reset
// event that has no id, so the client's resume point stays where it was.
func (a *API) sse(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	sub, err := a.openSub(r, key, true)
	if err != nil {
		writeReadErr(w, err)
		return
	}
	err = a.core.Deliver.ServeSSE(w, r, deliver.SSEStream{
		Transport: "sse",
		Sub:       sub,
		Key:       key.ID,
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
			var ee *eventlog.ExpiredError
			if !errors.As(err, &ee) {
				return nil, false
			}
			return framing.AppendEvent(nil, "", "reset", resetBody(sub.Position(), ee)), false
		},
	})
	if err != nil {
		writeErr(w, err) // over the key's stream cap: nothing was written
	}
}

// keepAliveFrame is the comment an idle stream gets every KeepAlive.
var keepAliveFrame = []byte(": keep-alive\n\n")

// websocket handles GET /v1/ws: one JSON text frame per event.
func (a *API) websocket(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	sub, err := a.openSub(r, key, false)
	if err != nil {
		writeReadErr(w, err)
		return
	}
	err = a.core.Deliver.ServeWS(w, r, deliver.WSStream{
		Transport: "websocket",
		Sub:       sub,
		Key:       key.ID,
		Frame:     a.wsFmt,
		KeepAlive: a.keepAlive,
		Ended: func(err error) []byte {
			var ee *eventlog.ExpiredError
			if !errors.As(err, &ee) {
				return nil
			}
			frame := append([]byte(`{"reset":`), resetBody(sub.Position(), ee)...)
			frame = framing.AppendWSText(nil, append(frame, '}'))
			return append(frame, framing.WSClose(framing.WSNormalClosure, "position expired")...)
		},
	})
	if err != nil {
		writeErr(w, err) // over the key's stream cap: nothing was written
	}
}
