package native

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/herald-io/herald/internal/auth"
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
			return nil, fmt.Errorf("%w: this key may not read any topic", errForbidden)
		}
	}
	if !key.CanSubscribe(f) {
		return nil, fmt.Errorf("%w: this key may not read %s", errForbidden, f)
	}
	return f, nil
}

var errForbidden = errors.New("forbidden")

func writeReadErr(w http.ResponseWriter, err error) {
	if errors.Is(err, errForbidden) {
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
		return
	}
	writeErr(w, err)
}

// poll handles GET /v1/events: it answers as soon as a matching event after
// `after` exists, or with none once `wait` has passed.
func (a *API) poll(w http.ResponseWriter, r *http.Request, key *auth.Key) {
	p, err := parseReadParams(r.URL.Query())
	if err != nil {
		writeErr(w, err)
		return
	}
	f, err := subscribeFilter(key, p.filter, p.hasTopics)
	if err != nil {
		writeReadErr(w, err)
		return
	}
	after := p.after
	if !p.hasAfter {
		if after, err = a.core.Hub.Now(r.Context()); err != nil {
			writeErr(w, err)
			return
		}
	}
	sub := a.core.Hub.Subscribe(after, f)
	defer sub.Close()
	var evs []*hub.Event
	if p.wait > 0 {
		ctx, cancel := a.waitContext(r, p.wait)
		evs, err = sub.Next(ctx, p.limit)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) && r.Context().Err() == nil {
			err = nil // waited in vain, or the server is shutting down: answer empty
		}
	} else {
		evs, err = sub.Poll(r.Context(), p.limit)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	b := make([]byte, 0, 64+len(evs)*256)
	b = append(b, `{"events":[`...)
	for i, e := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.Wire(a.jsonFmt)...)
	}
	b = append(b, `],"next":`...)
	b = strconv.AppendUint(b, sub.Position(), 10)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
	a.core.Metrics.EventsDelivered.WithLabelValues("longpoll").Add(float64(len(evs)))
}
