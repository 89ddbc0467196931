package hue

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/framing"
	"github.com/herald-io/herald/internal/hub"
)

// ssePreamble opens a stream as a bridge does, so clients see it is live.
var ssePreamble = []byte(": hi\n\n")

// eventStream handles GET /eventstream/clip/v2: Server-Sent Events for
// "Accept: text/event-stream", otherwise a long-poll answering a JSON array.
func (a *API) eventStream(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	sse, ok := negotiate(r.Header.Values("Accept"))
	if !ok {
		writeError(w, http.StatusNotAcceptable, "accept text/event-stream or application/json")
		return
	}
	after, err := a.resumePosition(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	sub := a.core.Hub.Subscribe(after, hueScope)
	if sse {
		a.streamSSE(w, r, sub, key.ID) // closes sub
		return
	}
	defer sub.Close()
	a.longPoll(w, r, sub)
}

// negotiate reads Accept: SSE if the client takes text/event-stream,
// long-poll for JSON, anything, or no Accept at all.
func negotiate(accept []string) (sse, ok bool) {
	if len(accept) == 0 {
		return false, true
	}
	json := false
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			switch mt {
			case "text/event-stream":
				return true, true
			case "application/json", "application/*", "*/*":
				json = true
			}
		}
	}
	return false, json
}

// resumePosition is where a stream starts: after the event a client last
// saw (Last-Event-ID, as aiohue sends it, or the spec's If-None-Match), or
// "now". A position past the log's end is clamped to it, so a client with
// an id from a replaced server does not wait for events that never come.
func (a *API) resumePosition(r *http.Request) (uint64, error) {
	ctx := r.Context()
	now, err := a.core.Start(ctx, dialect.FromNow())
	if err != nil {
		return 0, err
	}
	v := framing.LastEventID(r)
	if v == "" {
		v = r.Header.Get("If-None-Match")
	}
	if v == "" {
		return now, nil
	}
	ts, seq, err := parseEventID(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errBadRequest, err)
	}
	if seq > 0 {
		return min(seq, now), nil
	}
	return a.seqAtTime(ctx, ts, now)
}

// seqAtTime finds the position after which the Hue events newer than unix
// second ts begin, by binary search over the log (event times grow with
// the sequence): what "If-None-Match: <ts>:0" means.
func (a *API) seqAtTime(ctx context.Context, ts int64, last uint64) (uint64, error) {
	first, _, err := a.core.Log.Bounds(ctx)
	if err != nil {
		return 0, err
	}
	lo := uint64(0)
	if first > 0 {
		lo = first - 1
	}
	hi := max(last, lo)
	// Whether the first Hue event after p (none: the log ends) is newer.
	newer := func(p uint64) (bool, error) {
		sc := a.core.Scan(p, hueScope, dialect.Page(1), dialect.Through(last))
		for ev := range sc.Events(ctx) {
			return ev.Time.Unix() > ts, nil
		}
		return true, sc.Err()
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := newer(mid)
		var ee *eventlog.ExpiredError
		if errors.As(err, &ee) {
			lo = ee.Earliest - 1
			continue
		}
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// streamSSE writes each batch of ready events as one message, gathering
// what follows the first event within the batch window as a bridge does.
func (a *API) streamSSE(w http.ResponseWriter, r *http.Request, sub *hub.Sub, keyID string) {
	err := a.core.Deliver.ServeSSE(w, r, deliver.SSEStream{
		Transport: "hue-sse",
		Dialect:   dialectName,
		Sub:       sub,
		Key:       keyID,
		Options:   framing.SSEOptions{Preamble: ssePreamble},
		KeepAlive: a.cfg.KeepAlive,
		Idle:      keepAliveFrame,
		Gather:    a.cfg.BatchWindow,
		Frames: func(dst [][]byte, evs []*hub.Event) ([][]byte, int) {
			// Built once per batch, whatever number of streams get it.
			return a.msgs.frames(dst, a.evFmt, evs), len(evs)
		},
		Ended: func(err error) ([]byte, bool) {
			var ee *eventlog.ExpiredError
			if !errors.As(err, &ee) {
				return nil, false
			}
			// Alone in a message without an id: clients that reject
			// "error" events lose nothing else, and keep their resume point.
			msg := append(append([]byte("data: ["), errorEvent(a.cfg.Now(), ee)...), "]\n\n"...)
			sub.Reset(ee.Earliest - 1)
			return msg, true
		},
	})
	if err != nil {
		a.fail(w, r, err) // over the key's stream cap: nothing was written
	}
}

// keepAliveFrame is the comment an idle stream gets every KeepAlive.
var keepAliveFrame = []byte(": keep-alive\n\n")

// longPoll answers at once with the events after the position if there
// are any, else waits for some up to PollTimeout. The ETag is the id to
// send back as If-None-Match for an exact resume.
func (a *API) longPoll(w http.ResponseWriter, r *http.Request, sub *hub.Sub) {
	ctx, cancel := a.core.Deliver.StreamContext(r)
	defer cancel()
	var body []byte
	evs, err := a.nextBatch(ctx, sub, a.cfg.PollTimeout)
	var ee *eventlog.ExpiredError
	if errors.As(err, &ee) {
		body = append(append(body, '['), errorEvent(a.cfg.Now(), ee)...)
		sub.Reset(ee.Earliest - 1)
		evs, err = sub.Poll(ctx, maxMessageEvents)
		if len(evs) > 0 {
			// One array: the error event, then the events without their
			// own array's opening bracket.
			body = append(body, ',')
			body = append(body, appendArray(nil, a.evFmt, evs)[1:]...)
		} else {
			body = append(body, ']')
		}
	} else if err == nil {
		body = appendArray(body, a.evFmt, evs)
	}
	if err != nil {
		if ctx.Err() != nil && r.Context().Err() == nil {
			// Server shutting down: answer empty, the client polls again.
			body, err = []byte("[]"), nil
		} else {
			a.fail(w, r, err)
			return
		}
	}
	if len(evs) > 0 {
		w.Header().Set("ETag", `"`+messageID(evs[len(evs)-1])+`"`)
		a.core.Metrics.EventsDelivered.WithLabelValues("hue-poll").Add(float64(len(evs)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
}

// nextBatch waits up to wait for events; nil, nil means none came. Once
// one is ready it gathers what else arrives within the batch window, as a
// bridge batches the changes of about a second into one message.
func (a *API) nextBatch(ctx context.Context, sub *hub.Sub, wait time.Duration) ([]*hub.Event, error) {
	evs, err := sub.NextWithin(ctx, maxMessageEvents, wait)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	return sub.Gather(ctx, evs, maxMessageEvents, a.cfg.BatchWindow), nil
}
