package zulip

import (
	"context"
	"net/url"
	"testing"
)

// GET /v1/zulip/queues lists the event queues with their user and when a
// poll last kept them alive; a deleted queue is no longer listed.
func TestAdminQueues(t *testing.T) {
	e := newEnv(t, Config{})
	bot := e.addUser("bot@example.com", "Bot")
	qid := e.register(bot, url.Values{"event_types": {`["message"]`}})
	var list struct{ Queues []QueueView }
	if st := e.adminDo("GET", "/v1/zulip/queues", "", &list); st != 200 || len(list.Queues) != 1 {
		t.Fatalf("GET /v1/zulip/queues: %d %+v", st, list)
	}
	q := list.Queues[0]
	if q.QueueID != qid || q.Email != bot.Email || q.UserID != bot.ID || q.Realm == "" ||
		len(q.EventTypes) != 1 || q.EventTypes[0] != "message" || q.LastActive.IsZero() || !q.Expires.After(q.LastActive) {
		t.Errorf("queue %+v, want %s of %s for message events", q, qid, bot.Email)
	}
	if r := e.call(context.Background(), bot, "DELETE", "/api/v1/events", url.Values{"queue_id": {qid}}, form); r.Status != 200 {
		t.Fatalf("delete queue: %d %s", r.Status, r.Raw)
	}
	list.Queues = nil
	if st := e.adminDo("GET", "/v1/zulip/queues", "", &list); st != 200 || len(list.Queues) != 0 {
		t.Errorf("after deleting it: %d %+v, want no queue", st, list)
	}
}
