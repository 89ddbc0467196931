package zulip

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// QueueView is an event queue as GET /v1/zulip/queues lists it.
type QueueView struct {
	QueueID    string    `json:"queue_id"`
	Realm      string    `json:"realm"`
	UserID     int64     `json:"user_id"`
	Email      string    `json:"email,omitempty"` // "" if the user is gone
	EventTypes []string  `json:"event_types"`     // null: every type
	Created    time.Time `json:"created"`
	// LastActive is when a poll last kept the queue alive. A poll stores
	// it only once it is older than a fifth of the queue's lifespan (see
	// cursor.Follow), so the last poll may be that much later.
	LastActive time.Time `json:"last_active"`
	Expires    time.Time `json:"expires"` // unless polled before then
}

// adminListQueues handles GET /v1/zulip/queues: every live event queue.
func (a *API) adminListQueues(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	states, err := a.core.Cursors.List(ctx, "zulip.")
	if err != nil {
		return err
	}
	users, err := a.users(ctx, "")
	if err != nil {
		return err
	}
	type realmUser struct {
		realm string
		id    int64
	}
	emails := make(map[realmUser]string, len(users))
	for _, u := range users {
		emails[realmUser{u.Realm, u.UserID}] = u.Email
	}
	out := []QueueView{}
	for _, st := range states {
		realm, qid, ok := strings.Cut(strings.TrimPrefix(st.ID, "zulip."), ".")
		var meta queueMeta
		if !ok || json.Unmarshal(st.Meta, &meta) != nil {
			continue // not a queue
		}
		out = append(out, QueueView{
			QueueID: qid, Realm: realm, UserID: meta.UserID, Email: emails[realmUser{realm, meta.UserID}],
			EventTypes: meta.EventTypes, Created: st.Created, LastActive: st.LastActive, Expires: st.ExpiresAt(),
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"queues": out})
	return nil
}
