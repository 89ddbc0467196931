package zulip

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/herald-io/herald/internal/dialect"
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
func (a *API) adminAddStream(w http.ResponseWriter, r *http.Request) error {
	var req AddStreamRequest
	if err := decodeAdmin(r, &req); err != nil {
		return err
	}
	if req.Realm == "" {
		req.Realm = a.cfg.DefaultRealm
	}
	switch {
	case !validName(req.Name, 60):
		return dialect.Errorf(dialect.BadRequest, "name is required (at most 60 characters, no control characters)")
	case len(req.Description) > 1024:
		return dialect.Errorf(dialect.BadRequest, "description is longer than 1024 bytes")
	case !validRealm(req.Realm):
		return dialect.Errorf(dialect.BadRequest, "realm must be letters, digits, '-' and '_' (at most 63)")
	}
	ctx := r.Context()
	key := streamKey(req.Realm, req.Name)
	if _, err := a.kv.Get(ctx, key); err == nil {
		return exists("stream " + req.Name + " exists")
	} else if !errors.Is(err, eventlog.ErrKeyNotFound) {
		return err
	}
	id, err := a.nextID(ctx, "stream_id")
	if err != nil {
		return err
	}
	s := streamRecord{StreamID: id, Name: req.Name, Description: req.Description, Realm: req.Realm,
		Created: time.Now().UTC()}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if _, err := a.kv.Create(ctx, key, b); err != nil {
		if errors.Is(err, eventlog.ErrConflict) {
			return exists("stream " + req.Name + " exists")
		}
		return err
	}
	if _, err := a.publish(ctx, s.Realm, "stream", map[string]any{
		"type": "stream", "op": "create", "streams": []any{streamJSON(&s)},
	}); err != nil {
		a.core.Logger.Warn("zulip: stream event", "err", err)
	}
	writeJSON(w, http.StatusCreated, streamView(&s))
	return nil
}

func (a *API) adminListStreams(w http.ResponseWriter, r *http.Request) error {
	streams, err := a.streams(r.Context(), r.URL.Query().Get("realm"))
	if err != nil {
		return err
	}
	out := make([]StreamView, len(streams))
	for i := range streams {
		out[i] = streamView(&streams[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"streams": out})
	return nil
}
