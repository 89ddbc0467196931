package native

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/herald-io/herald/internal/auth"
	"github.com/herald-io/herald/internal/deliver"
	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/hub"
	"github.com/herald-io/herald/internal/topic"
)

// subscribeFilter returns the filter a read asks for, checked against the
// key's scopes. No topics given means everything the key may read; an
// explicit ">" means everything, which only an unrestricted key may read.
func subscribeFilter(key *auth.Key, f topic.Filter, given bool) (topic.Filter, error) {
	if !given && !key.Admin {
		var err error
		if f, err = topic.NewFilter(key.Subscribe); err != nil || len(key.Subscribe) == 0 {
			return nil, forbidden("this key may not read any topic")
		}
	}
	if !key.CanSubscribe(f) {
		return nil, forbidden("this key may not read %s", f)
	}
	return f, nil
}

// from is where a read starts: after= if given (a number or earliest),
// else now.
func (p readParams) from() dialect.From {
	switch {
	case p.earliest:
		return dialect.FromEarliest()
	case p.hasAfter:
		return dialect.FromAfter(p.after)
	}
	return dialect.FromNow()
}

// poll handles GET /v1/events: it answers as soon as a matching event after
// `after` exists, or with none once `wait` has passed.
func (a *API) poll(w http.ResponseWriter, r *http.Request, req *dialect.Request) error {
	p, err := parseReadQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	f, err := subscribeFilter(req.Key, p.filter, p.hasTopics)
	if err != nil {
		return err
	}
	after, err := a.core.Start(r.Context(), p.from())
	if err != nil {
		return err
	}
	sub := a.core.Hub.Subscribe(after, f)
	if p.wait <= 0 {
		defer sub.Close()
		evs, err := sub.Poll(r.Context(), p.limit)
		if err != nil {
			return err
		}
		a.writeEvents(w, evs, sub.Position())
		return nil
	}
	// A poll that waits may park: the engine answers it off this handler.
	fail := a.guard.FailLater(r)
	a.core.Deliver.ServePoll(w, r, deliver.Poll{
		Transport: "longpoll", Sub: sub, Max: p.limit, Wait: p.wait, Quick: true,
		Answer: func(w http.ResponseWriter, evs []*hub.Event, err error) {
			if err != nil {
				fail(w, err)
				return
			}
			a.writeEvents(w, evs, sub.Position())
		},
	})
	return nil
}

// writeEvents writes a long-poll's answer: the events' shared JSON and
// the position to poll after next. The pieces are written as they are
// (the response buffers them), so nothing is built per answer.
func (a *API) writeEvents(w http.ResponseWriter, evs []*hub.Event, next uint64) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(eventsOpen)
	for i, e := range evs {
		if i > 0 {
			w.Write(comma)
		}
		w.Write(e.Wire(a.jsonFmt))
	}
	b := append(make([]byte, 0, 32), `],"next":`...)
	b = strconv.AppendUint(b, next, 10)
	w.Write(append(b, "}\n"...))
	a.core.Metrics.EventsDelivered.WithLabelValues("longpoll").Add(float64(len(evs)))
}

var eventsOpen, comma = []byte(`{"events":[`), []byte(",")

// readBodyErr is a body that could not be read: over the limit (413), or
// cut off (400).
func readBodyErr(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest("the request body ended early")
	}
	return badRequest("the request body could not be read")
}
