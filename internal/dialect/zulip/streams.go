package zulip

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/herald-io/herald/internal/eventlog"
)

// AddStreamRequest is the body of POST /v1/zulip/streams.
type AddStreamRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Realm       string `json:"realm"` // default: the configured default realm
}

// StreamView is a stream as the admin endpoints show it.
type StreamView struct {
	StreamID    int64     `json:"stream_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Realm       string    `json:"realm"`
	Created     time.Time `json:"created"`
}

func streamView(s *streamRecord) StreamView {
	return StreamView{StreamID: s.StreamID, Name: s.Name, Description: s.Description, Realm: s.Realm, Created: s.Created}
}

// adminAddStream handles POST /v1/zulip/streams, and tells the realm's
// queues with a "stream" create event.
func (a *API) adminAddStream(w http.ResponseWriter, r *http.Request) {
	var req AddStreamRequest
	if !decodeAdmin(w, r, &req) {
		return
	}
	if req.Realm == "" {
		req.Realm = a.cfg.DefaultRealm
	}
	switch {
	case !validName(req.Name, 60):
		adminError(w, http.StatusBadRequest, "bad_request", "name is required (at most 60 characters, no control characters)")
		return
	case len(req.Description) > 1024:
		adminError(w, http.StatusBadRequest, "bad_request", "description is longer than 1024 bytes")
		return
	case !realmPattern.MatchString(req.Realm):
		adminError(w, http.StatusBadRequest, "bad_request", "realm must be letters, digits, '-' and '_' (at most 63)")
		return
	}
	ctx := r.Context()
	key := streamKey(req.Realm, req.Name)
	if _, err := a.kv.Get(ctx, key); err == nil {
		adminError(w, http.StatusConflict, "exists", "stream "+req.Name+" exists")
		return
	} else if !errors.Is(err, eventlog.ErrKeyNotFound) {
		a.adminFail(w, r, err)
		return
	}
	id, err := a.nextID(ctx, "stream_id")
	if err != nil {
		a.adminFail(w, r, err)
		return
	}
	s := streamRecord{StreamID: id, Name: req.Name, Description: req.Description, Realm: req.Realm,
		Created: time.Now().UTC()}
	b, err := json.Marshal(s)
	if err != nil {
		a.adminFail(w, r, err)
		return
	}
	if _, err := a.kv.Create(ctx, key, b); err != nil {
		if errors.Is(err, eventlog.ErrConflict) {
			adminError(w, http.StatusConflict, "exists", "stream "+req.Name+" exists")
			return
		}
		a.adminFail(w, r, err)
		return
	}
	if _, err := a.publish(ctx, s.Realm, "stream", map[string]any{
		"type": "stream", "op": "create", "streams": []any{streamJSON(&s)},
	}); err != nil {
		a.core.Logger.Warn("zulip: stream event", "err", err)
	}
	writeJSON(w, http.StatusCreated, streamView(&s))
}

func (a *API) adminListStreams(w http.ResponseWriter, r *http.Request) {
	streams, err := a.streams(r.Context(), r.URL.Query().Get("realm"))
	if err != nil {
		a.adminFail(w, r, err)
		return
	}
	out := make([]StreamView, len(streams))
	for i := range streams {
		out[i] = streamView(&streams[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"streams": out})
}
