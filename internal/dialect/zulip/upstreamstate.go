package zulip

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/herald-io/herald/internal/dialect"
)

// A mirrored identity's register: herald's queue, the server's state.
//
// Herald knows the identity's events (the connector stores them) but not
// its realm: the users, streams, subscriptions, settings and the newest
// message id are the server's. So register makes herald's queue first,
// then registers upstream, through the identity's proxy, with the
// client's own arguments, deletes that upstream queue at once, and answers
// the server's initial state with herald's queue_id, last_event_id and
// long-poll timeout in it. Queue first: whatever the server does after its
// state was taken reaches herald's log after the queue began, so the
// client misses nothing; what it did just before may come as an event too
// (the connector's lag), as on any reconnect.

// maxUpstreamState bounds the server's register answer (a large realm's
// users and streams).
const maxUpstreamState = 64 << 20

// errStateTooBig is an upstream register answer over maxUpstreamState.
var errStateTooBig = errors.New("zulip: the upstream's register answer is too big")

// errUpstreamAnswer answers a register whose upstream answer herald
// cannot use (the detail is logged).
var errUpstreamAnswer = &apiError{status: http.StatusBadGateway, code: "UPSTREAM_UNREACHABLE",
	msg: "The Zulip server herald stands in front of gave an answer herald cannot use; retry shortly"}

// heraldRegisterFields are what a mirrored identity's register answer
// takes from herald, not from its server: the queue it polls here.
var heraldRegisterFields = []string{"queue_id", "last_event_id", "event_queue_longpoll_timeout_seconds"}

// upstreamRegister answers r, a mirrored identity's register (parsed as p)
// for which herald made the queue of out, with up's initial state. An
// upstream that fails is answered as it answered (its status and body) and
// herald's queue is deleted.
func (a *API) upstreamRegister(w http.ResponseWriter, r *http.Request, up http.Handler, p *params, cursorID string, out map[string]any) error {
	ctx := r.Context()
	form := p.all()
	rec := a.upstreamCall(ctx, up, r, http.MethodPost, "/api/v1/register", form)
	var state map[string]json.RawMessage
	var upQueue string
	if rec.err == nil && rec.Status == http.StatusOK {
		state, upQueue, rec.err = mergeState(rec.Body.Bytes(), out)
	}
	if rec.err != nil || rec.Status != http.StatusOK {
		if err := a.core.Cursors.Delete(context.WithoutCancel(ctx), cursorID); err != nil {
			a.core.Logger.Warn("zulip: delete the queue of a failed register", "queue", cursorID, "err", err)
		}
		if rec.err != nil {
			a.core.Logger.Warn("zulip: a mirrored identity's register upstream", "status", rec.Status, "err", rec.err)
			return errUpstreamAnswer
		}
		rec.relay(w)
		return nil
	}
	if upQueue != "" {
		// Only its state was wanted; an upstream queue left behind expires
		// on its own.
		del := a.upstreamCall(context.WithoutCancel(ctx), up, r, http.MethodDelete, "/api/v1/events",
			url.Values{"queue_id": {upQueue}})
		if del.err != nil || del.Status != http.StatusOK {
			a.core.Logger.Warn("zulip: delete the upstream queue of a register", "status", del.Status, "err", del.err)
		}
	}
	writeJSON(w, http.StatusOK, state)
	return nil
}

// mergeState reads an upstream's successful register answer and puts
// herald's fields of out in it; upQueue is the upstream's queue id.
func mergeState(body []byte, out map[string]any) (state map[string]json.RawMessage, upQueue string, err error) {
	if err := json.Unmarshal(body, &state); err != nil || string(state["result"]) != `"success"` {
		return nil, "", errors.New("zulip: the upstream's register answer is not a success")
	}
	_ = json.Unmarshal(state["queue_id"], &upQueue)
	for _, k := range heraldRegisterFields {
		b, err := json.Marshal(out[k])
		if err != nil {
			return nil, "", err
		}
		state[k] = b
	}
	return state, upQueue, nil
}

// upstreamCall sends one request of the identity whose request r is
// through its proxy up (which puts the connector's credential in), and
// keeps the answer.
func (a *API) upstreamCall(ctx context.Context, up http.Handler, r *http.Request, method, path string, form url.Values) *upstreamAnswer {
	rec := &upstreamAnswer{Answer: dialect.Answer{Limit: maxUpstreamState}}
	body := form.Encode()
	target := path
	if method != http.MethodPost {
		target, body = path+"?"+body, ""
	}
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		rec.err = err
		return rec
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", r.UserAgent())
	req.Host, req.RemoteAddr = r.Host, r.RemoteAddr
	up.ServeHTTP(rec, req)
	rec.WriteHeader(http.StatusOK) // a handler that wrote nothing
	if rec.Truncated {
		rec.err = errStateTooBig
	}
	return rec
}

// upstreamAnswer is an answer of the upstream, or why there is none.
type upstreamAnswer struct {
	dialect.Answer
	err error
}

// relay writes the answer to dst as the upstream gave it.
func (u *upstreamAnswer) relay(dst http.ResponseWriter) {
	if ct := u.Header().Get("Content-Type"); ct != "" {
		dst.Header().Set("Content-Type", ct)
	}
	dst.Header().Set("Content-Length", strconv.Itoa(u.Body.Len()))
	dst.WriteHeader(u.Status)
	_, _ = dst.Write(u.Body.Bytes())
}
