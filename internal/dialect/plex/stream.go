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
	"github.com/herald-io/herald/internal/dialect"
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

// statusPositionAhead closes a WebSocket whose ?after= position is past the
// log's end (the server's log was replaced): start again without after=.
const statusPositionAhead = 4409

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

// openSub parses the filter and start position of a stream: ?after= (a
// sequence number or earliest, as on the native API) or, for an
// EventSource, Last-Event-ID; otherwise "now", as on Plex.
func (a *API) openSub(r *http.Request, key *auth.Key, lastEventID bool) (*hub.Sub, Filter, error) {
	q := r.URL.Query()
	f, err := ParseFilter(q)
	if err != nil {
		return nil, f, dialect.Errorf(dialect.BadRequest, "%v", err)
	}
	topics := f.Topics()
	if !key.CanSubscribe(topics) {
		return nil, f, dialect.Errorf(dialect.Forbidden, "this token may not read %s", topics)
	}
	var pos string
	if lastEventID {
		pos = framing.LastEventID(r)
	}
	if pos == "" {
		pos = q.Get("after")
	}
	from := dialect.FromNow()
	switch pos {
	case "":
	case "earliest": // ?after=earliest, as on the native API
		from = dialect.FromEarliest()
	default:
		seq, err := framing.ParseSeq(pos)
		if err != nil {
			return nil, f, dialect.Errorf(dialect.BadRequest, "the resume position must be a sequence number or earliest, not %q", pos)
		}
		from = dialect.FromAfter(seq)
	}
	after, err := a.core.Start(r.Context(), from)
	if err != nil {
		return nil, f, err
	}
	return a.core.Hub.Subscribe(after, topics), f, nil
}

// eventSource handles GET /:/eventsource/notifications: one SSE frame
// per notification; an idle stream gets Plex's "ping" event.
func (a *API) eventSource(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	sub, f, err := a.openSub(r, req.Key, true)
	var preamble []byte
	var ae *eventlog.AheadError
	if errors.As(err, &ae) {
		// Plex has no "start over" either: say that the position is past
		// the log's end, with the log's last id, and go on from there.
		preamble = framing.AppendEvent(nil, strconv.FormatUint(ae.Last, 10), "reset",
			fmt.Appendf(nil, `{"after":%d,"last":%d}`, ae.After, ae.Last))
		sub, err = a.core.Hub.Subscribe(ae.Last, f.Topics()), nil
	}
	if err != nil {
		return err
	}
	return a.core.Deliver.ServeSSE(w, r, deliver.SSEStream{
		Transport: "plex-sse",
		Dialect:   Dialect,
		Sub:       sub,
		Key:       req.Key.ID,
		Options:   framing.SSEOptions{ContentType: streamContentType(r), Preamble: preamble},
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
}

// pingFrame is Plex's heartbeat on an idle EventSource stream.
var pingFrame = framing.AppendEvent(nil, "", "ping", []byte("{}"))

func resetBody(pos uint64, ee *eventlog.ExpiredError) []byte {
	return fmt.Appendf(nil, `{"after":%d,"earliest":%d}`, pos, ee.Earliest)
}

// websocket handles GET /:/websocket/notifications and its plural
// spelling: one NotificationContainer text frame per event. The client's
// pings are answered by the connection; when idle the server pings too.
func (a *API) websocket(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	sub, f, err := a.openSub(r, req.Key, false)
	var ae *eventlog.AheadError
	if errors.As(err, &ae) {
		a.core.Deliver.RefuseWS(w, r, framing.WSOptions{OriginPatterns: []string{"*"}},
			framing.WSClose(statusPositionAhead, fmt.Sprintf("position ahead of the log; last %d", ae.Last)))
		return nil
	}
	if err != nil {
		return err
	}
	// Any origin: the token travels in the URL or a header, never in a
	// cookie, so a foreign page cannot borrow a user's session, and Plex
	// web apps are served from other origins than the media server.
	return a.core.Deliver.ServeWS(w, r, deliver.WSStream{
		Transport: "plex-websocket",
		Dialect:   Dialect,
		Sub:       sub,
		Key:       req.Key.ID,
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
}
