package plex

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
)

// Content types of the EventSource stream. Generated SDKs (plexjs, plexgo)
// ask for application/octet-stream and wait until the answer has it; the
// bytes are the same.
const (
	contentTypeSSE   = "text/event-stream"
	contentTypeOctet = "application/octet-stream"
)

// statusPositionExpired closes a WebSocket whose ?after= position is older
// than retention (a private-use code: Plex has no such signal).
const statusPositionExpired = 4410

// streamContentType picks the EventSource Content-Type from Accept:
// application/octet-stream only for clients that ask for it and not for
// text/event-stream.
func streamContentType(r *http.Request) string {
	octet := false
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case contentTypeSSE:
				return contentTypeSSE
			case contentTypeOctet:
				octet = true
			}
		}
	}
	if octet {
		return contentTypeOctet
	}
	return contentTypeSSE
}

// openSub parses the filter and start position of a stream: ?after= (as on
// the native API) or, for an EventSource, Last-Event-ID; otherwise "now",
// as on Plex. Errors are written to w.
func (a *API) openSub(w http.ResponseWriter, r *http.Request, key *auth.Key, lastEventID bool) (*hub.Sub, Filter, bool) {
	q := r.URL.Query()
	f, err := ParseFilter(q)
	if err != nil {
		writePlexStatus(w, http.StatusBadRequest, err.Error()+"\n")
		return nil, f, false
	}
	topics := f.Topics()
	if !key.CanSubscribe(topics) {
		writePlexStatus(w, http.StatusForbidden, "this token may not read "+topics.String()+"\n")
		return nil, f, false
	}
	var after uint64
	var pos string
	if lastEventID {
		pos = framing.LastEventID(r)
	}
	if pos == "" {
		pos = q.Get("after")
	}
	if pos != "" {
		if after, err = framing.ParseSeq(pos); err != nil {
			writePlexStatus(w, http.StatusBadRequest, fmt.Sprintf("the resume position must be a sequence number, not %q\n", pos))
			return nil, f, false
		}
	} else if after, err = a.core.Hub.Now(r.Context()); err != nil {
		w.Header().Set("Retry-After", "1")
		writePlexStatus(w, http.StatusServiceUnavailable, "the event log is unavailable\n")
		return nil, f, false
	}
	return a.core.Hub.Subscribe(after, topics), f, true
}

// eventSource handles GET /:/eventsource/notifications: one SSE frame
// per notification; an idle stream gets Plex's "ping" event.
func (a *API) eventSource(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	sub, f, ok := a.openSub(w, r, key, true)
	if !ok {
		return
	}
	err := a.core.Deliver.ServeSSE(w, r, deliver.SSEStream{
		Transport: "plex-sse",
		Sub:       sub,
		Key:       key.ID,
		Options:   framing.SSEOptions{ContentType: streamContentType(r)},
		KeepAlive: a.cfg.Ping,
		Idle:      pingFrame,
		Frames: func(dst [][]byte, evs []*hub.Event) ([][]byte, int) {
			n := 0
			for _, e := range evs {
				if f.Passes(e) {
					dst = append(dst, e.Wire(a.sse))
					n++
				}
			}
			return dst, n
		},
		Ended: func(err error) ([]byte, bool) {
			var ee *eventlog.ExpiredError
			if !errors.As(err, &ee) {
				return nil, false
			}
			// Plex has no "start over": say what was lost, with an id past
			// the gap so a reconnect does not loop, and go on from there.
			resume := max(ee.Earliest, 1) - 1
			frame := framing.AppendEvent(nil, strconv.FormatUint(resume, 10), "reset", resetBody(sub.Position(), ee))
			sub.Reset(resume)
			return frame, true
		},
	})
	writeStreamErr(w, err)
}

// writeStreamErr answers a stream the engine refused before writing
// anything: over the token's cap on open streams, as Plex answers too
// many requests.
func writeStreamErr(w http.ResponseWriter, err error) {
	switch {
	case err == nil:
	case errors.Is(err, deliver.ErrTooManyStreams):
		writePlexStatus(w, http.StatusTooManyRequests, "too many streams open for this token\n")
	default:
		writePlexStatus(w, http.StatusInternalServerError, "internal error\n")
	}
}

// pingFrame is Plex's heartbeat on an idle EventSource stream.
var pingFrame = framing.AppendEvent(nil, "", "ping", []byte("{}"))

func resetBody(pos uint64, ee *eventlog.ExpiredError) []byte {
	return fmt.Appendf(nil, `{"after":%d,"earliest":%d}`, pos, ee.Earliest)
}

// websocket handles GET /:/websocket/notifications and its plural
// spelling: one NotificationContainer text frame per event. The client's
// pings are answered by the connection; when idle the server pings too.
func (a *API) websocket(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	sub, f, ok := a.openSub(w, r, key, false)
	if !ok {
		return
	}
	// Any origin: the token travels in the URL or a header, never in a
	// cookie, so a foreign page cannot borrow a user's session, and Plex
	// web apps are served from other origins than the media server.
	err := a.core.Deliver.ServeWS(w, r, deliver.WSStream{
		Transport: "plex-websocket",
		Sub:       sub,
		Key:       key.ID,
		Frame:     a.wsFrame,
		Allow:     f.Passes,
		Options:   framing.WSOptions{OriginPatterns: []string{"*"}},
		KeepAlive: a.cfg.Ping,
		Ended: func(err error) []byte {
			var ee *eventlog.ExpiredError
			if !errors.As(err, &ee) {
				return nil
			}
			return framing.WSClose(statusPositionExpired, fmt.Sprintf("position expired; earliest %d", ee.Earliest))
		},
	})
	writeStreamErr(w, err)
}
