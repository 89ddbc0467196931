package native_test

import (
	"fmt"
	"testing"

	"github.com/herald-io/herald/internal/server"
)

type subView struct {
	Name     string   `json:"name"`
	Topics   []string `json:"topics"`
	Position uint64   `json:"position"`
	Pending  int      `json:"pending"`
	Batch    *string  `json:"batch"`
	Owner    string   `json:"owner"`
}

type batchResponse struct {
	Batch  *string `json:"batch"`
	Events []event `json:"events"`
}

func seqList(evs []event) string {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return fmt.Sprint(out)
}

func TestSubscriptionFetchAckRedeliver(t *testing.T) {
	s := start(t, server.Config{})
	s.do("POST", "/v1/events", s.admin, `{"topic":"app.before","type":"x"}`, nil) // seq 1

	var v subView
	if r := s.do("PUT", "/v1/subscriptions/orders", s.admin, `{"topics":["app.>"],"start":"earliest"}`, &v); r.StatusCode != 201 {
		t.Fatalf("create: %d", r.StatusCode)
	}
	if v.Name != "orders" || v.Position != 0 || v.Pending != 1 {
		t.Fatalf("created %+v", v)
	}
	var fromNew subView
	if r := s.do("PUT", "/v1/subscriptions/fresh", s.admin, `{"topics":["app.>"]}`, &fromNew); r.StatusCode != 201 || fromNew.Position != 1 {
		t.Fatalf("start new: %d %+v", r.StatusCode, fromNew)
	}
	for i := 0; i < 4; i++ {
		s.do("POST", "/v1/events", s.admin, fmt.Sprintf(`[{"topic":"app.o","type":"x","data":%d},{"topic":"noise.x","type":"x"}]`, i), nil)
	}
	// seqs: 2,4,6,8 match app.>

	var b1, again batchResponse
	s.do("GET", "/v1/subscriptions/orders/events?limit=3", s.admin, "", &b1)
	if b1.Batch == nil || seqList(b1.Events) != "[1 2 4]" {
		t.Fatalf("first batch %+v", b1)
	}
	s.do("GET", "/v1/subscriptions/orders/events?limit=50", s.admin, "", &again)
	if again.Batch == nil || *again.Batch != *b1.Batch || seqList(again.Events) != "[1 2 4]" {
		t.Fatalf("unacked batch not redelivered as is: %+v", again)
	}
	if r := s.do("POST", "/v1/subscriptions/orders/ack", s.admin, `{"batch":"wrong"}`, nil); r.StatusCode != 409 {
		t.Fatalf("ack wrong batch: %d", r.StatusCode)
	}
	if r := s.do("POST", "/v1/subscriptions/orders/ack", s.admin, fmt.Sprintf(`{"batch":%q}`, *b1.Batch), &v); r.StatusCode != 200 || v.Position != 4 || v.Pending != 2 || v.Batch != nil {
		t.Fatalf("ack: %d %+v", r.StatusCode, v)
	}
	var b2 batchResponse
	s.do("GET", "/v1/subscriptions/orders/events", s.admin, "", &b2)
	if seqList(b2.Events) != "[6 8]" || *b2.Batch == *b1.Batch {
		t.Fatalf("second batch %+v", b2)
	}
	if r := s.do("POST", "/v1/subscriptions/orders/ack", s.admin, `{"upto":8}`, &v); r.StatusCode != 200 || v.Position != 8 || v.Pending != 0 {
		t.Fatalf("ack upto: %d %+v", r.StatusCode, v)
	}
	var empty batchResponse
	s.do("GET", "/v1/subscriptions/orders/events?wait=50ms", s.admin, "", &empty)
	if empty.Batch != nil || len(empty.Events) != 0 {
		t.Fatalf("empty fetch %+v", empty)
	}

	// The empty fetch scanned past seq 9 (not matching): the position is a
	// place in the log. Changing topics keeps it.
	if r := s.do("PUT", "/v1/subscriptions/orders", s.admin, `{"topics":["noise.>"]}`, &v); r.StatusCode != 200 || v.Position != 9 || v.Topics[0] != "noise.>" {
		t.Fatalf("update: %d %+v", r.StatusCode, v)
	}

	// Names are per key: another key neither sees the name nor learns it
	// is in use; the same name is a subscription of its own.
	other := s.createKey(`{"name":"other","publish":["app.>"],"subscribe":["app.>"]}`)
	if r := s.do("GET", "/v1/subscriptions/orders", other, "", nil); r.StatusCode != 404 {
		t.Fatalf("other key GET: %d", r.StatusCode)
	}
	var mine subView
	if r := s.do("PUT", "/v1/subscriptions/orders", other, `{"topics":["app.>"],"start":"earliest"}`, &mine); r.StatusCode != 201 || mine.Position != 0 {
		t.Fatalf("other key PUT: %d %+v", r.StatusCode, mine)
	}
	if s.do("GET", "/v1/subscriptions/orders", s.admin, "", &v); v.Position != 9 || v.Topics[0] != "noise.>" {
		t.Fatalf("the other key's PUT changed the first: %+v", v)
	}
	var list struct{ Subscriptions []subView }
	s.do("GET", "/v1/subscriptions", other, "", &list)
	if len(list.Subscriptions) != 1 || list.Subscriptions[0].Topics[0] != "app.>" {
		t.Fatalf("other key lists %+v", list)
	}
	s.do("GET", "/v1/subscriptions", s.admin, "", &list)
	if len(list.Subscriptions) != 3 {
		t.Fatalf("admin lists %+v", list)
	}
	if r := s.do("DELETE", "/v1/subscriptions/orders", other, "", nil); r.StatusCode != 204 {
		t.Fatalf("other key's delete: %d", r.StatusCode)
	}
	if r := s.do("DELETE", "/v1/subscriptions/orders", s.admin, "", nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := s.do("GET", "/v1/subscriptions/orders/events", s.admin, "", nil); r.StatusCode != 404 {
		t.Fatalf("fetch deleted: %d", r.StatusCode)
	}
}

// The subscription lives in the engine: a restart of herald keeps its
// position and its pending batch.
func TestSubscriptionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, server.Config{DataDir: dir})
	s.do("PUT", "/v1/subscriptions/durable", s.admin, `{"topics":["app.>"]}`, nil)
	s.do("POST", "/v1/events", s.admin, `[{"topic":"app.a","type":"x"},{"topic":"app.b","type":"x"}]`, nil)
	var b batchResponse
	s.do("GET", "/v1/subscriptions/durable/events?limit=1", s.admin, "", &b)
	admin := s.admin
	s.Shutdown(t.Context())

	s2 := start(t, server.Config{DataDir: dir})
	if s2.AdminKey() != "" {
		t.Fatal("a restart created a new admin key")
	}
	var again batchResponse
	s2.do("GET", "/v1/subscriptions/durable/events", admin, "", &again)
	if again.Batch == nil || *again.Batch != *b.Batch || seqList(again.Events) != "[1]" {
		t.Fatalf("after restart: %+v, want batch %s [1]", again, *b.Batch)
	}
}

// A fetch with ack=<batch> acknowledges the batch the client is done with
// and hands out the next, in one request; sent again (its answer lost), it
// is answered alike, and an id that was never pending is refused.
func TestSubscriptionFetchWithAck(t *testing.T) {
	s := start(t, server.Config{})
	if r := s.do("PUT", "/v1/subscriptions/loop", s.admin, `{"topics":["app.>"],"start":"earliest"}`, nil); r.StatusCode != 201 {
		t.Fatalf("create: %d", r.StatusCode)
	}
	s.do("POST", "/v1/events", s.admin, `[{"topic":"app.a","type":"x"},{"topic":"app.b","type":"x"},{"topic":"app.c","type":"x"}]`, nil)
	var b1, b2, again batchResponse
	s.do("GET", "/v1/subscriptions/loop/events?limit=2", s.admin, "", &b1)
	if b1.Batch == nil || seqList(b1.Events) != "[1 2]" {
		t.Fatalf("first batch %+v", b1)
	}
	if r := s.do("GET", "/v1/subscriptions/loop/events?limit=2&wait=10s&ack="+*b1.Batch, s.admin, "", &b2); r.StatusCode != 200 ||
		b2.Batch == nil || *b2.Batch == *b1.Batch || seqList(b2.Events) != "[3]" {
		t.Fatalf("ack and fetch: %d %+v", r.StatusCode, b2)
	}
	var v subView
	if s.do("GET", "/v1/subscriptions/loop", s.admin, "", &v); v.Position != 2 || v.Batch == nil || *v.Batch != *b2.Batch {
		t.Fatalf("after ack and fetch: %+v", v)
	}
	if r := s.do("GET", "/v1/subscriptions/loop/events?limit=2&ack="+*b1.Batch, s.admin, "", &again); r.StatusCode != 200 ||
		again.Batch == nil || *again.Batch != *b2.Batch || seqList(again.Events) != "[3]" {
		t.Fatalf("the same request again: %d %+v, want %+v", r.StatusCode, again, b2)
	}
	var e struct{ Error struct{ Code string } }
	if r := s.do("GET", "/v1/subscriptions/loop/events?ack=never", s.admin, "", &e); r.StatusCode != 409 || e.Error.Code != "batch_not_pending" {
		t.Fatalf("ack of a batch never pending: %d %+v", r.StatusCode, e)
	}
	for _, q := range []string{"ack=", "ack=" + *b2.Batch + "&ack=" + *b2.Batch} {
		if r := s.do("GET", "/v1/subscriptions/loop/events?"+q, s.admin, "", nil); r.StatusCode != 400 {
			t.Errorf("?%s: %d, want 400", q, r.StatusCode)
		}
	}
	var empty batchResponse
	if s.do("GET", "/v1/subscriptions/loop/events?wait=20ms&ack="+*b2.Batch, s.admin, "", &empty); empty.Batch != nil || len(empty.Events) != 0 {
		t.Fatalf("the last batch acknowledged: %+v", empty)
	}
	if s.do("GET", "/v1/subscriptions/loop", s.admin, "", &v); v.Position != 3 || v.Batch != nil || v.Pending != 0 {
		t.Fatalf("after the last ack: %+v", v)
	}
}
