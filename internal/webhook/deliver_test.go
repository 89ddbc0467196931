package webhook_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/webhook"
)

// A receiver that fails three times and then answers 2xx gets the event
// four times, under one webhook-id, each signed as Standard Webhooks says,
// with the event as the native API renders it; the attempts log and the
// metrics say so.
func TestRetriesUnderOneWebhookID(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	rc := newReceiver(t, func(n int, _ http.ResponseWriter) int {
		if n <= 3 {
			return 500
		}
		return 204
	})
	c := e.create(t, `{"url":"`+rc.srv.URL+`/hook","topics":["app.>"],"headers":{"X-Team":"blue"}}`)
	if !strings.HasPrefix(c.Secret, "whsec_") {
		t.Fatalf("no secret generated: %+v", c)
	}
	seq := e.publish(t, "app.door", 1)[0]
	waitFor(t, "four requests", func() bool { return len(rc.got()) >= 4 })
	reqs := rc.got()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	for i, g := range reqs {
		if g.id != reqs[0].id || g.id != webhook.WebhookID(c.ID, seq) {
			t.Errorf("request %d: webhook-id %q, first %q", i, g.id, reqs[0].id)
		}
		ts, err := strconv.ParseInt(g.ts, 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("request %d: webhook-timestamp %q", i, g.ts)
		}
		if want := standardSign(t, c.Secret, g.id, ts, g.body); g.sig != want {
			t.Errorf("request %d: signature %q, want %q", i, g.sig, want)
		}
		if g.ev.Seq != seq || g.ev.Topic != "app.door" || g.ev.Type != "test" || string(g.ev.Data) != `{"n":0}` || g.ev.ID == "" || g.ev.Time.IsZero() {
			t.Errorf("request %d: body %s", i, g.body)
		}
		if g.header.Get("X-Team") != "blue" || g.header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: headers %v", i, g.header)
		}
	}
	waitFor(t, "the position to pass the event", func() bool {
		v, err := e.svc.Get(context.Background(), e.admin, c.ID)
		return err == nil && v.Status.Position >= seq
	})
	st, err := e.svc.State(context.Background(), e.admin, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for _, a := range st.Attempts {
		statuses = append(statuses, a.Status)
		if a.WebhookID != reqs[0].id || a.Seq != seq {
			t.Errorf("attempt %+v", a)
		}
	}
	if !slices.Equal(statuses, []int{500, 500, 500, 204}) || st.Attempts[3].Try != 4 || st.Attempts[0].Response != "answer 1" {
		t.Errorf("attempts: %+v", st.Attempts)
	}
	m := e.c.Metrics.WebhookDeliveries
	if d, r := counter(m.WithLabelValues(c.ID, "delivered")), counter(m.WithLabelValues(c.ID, "refused")); d != 1 || r != 3 {
		t.Errorf("metrics: delivered %v, refused %v", d, r)
	}
}

// After the last try the endpoint is failing and delivers nothing; the
// events stay in the log, and a PATCH delivers them, in order.
func TestFailingUntilPatched(t *testing.T) {
	e := newEnv(t, webhook.Config{Schedule: fast[:3]})
	up := make(chan struct{})
	rc := newReceiver(t, func(int, http.ResponseWriter) int {
		select {
		case <-up:
			return 200
		default:
			return 503
		}
	})
	c := e.create(t, `{"url":"`+rc.srv.URL+`","topics":["app.>"],"ordered":true}`)
	seqs := e.publish(t, "app.x", 3)
	waitFor(t, "the endpoint to fail", func() bool {
		v, err := e.svc.Get(context.Background(), e.admin, c.ID)
		return err == nil && v.Status.Failing
	})
	v, _ := e.svc.Get(context.Background(), e.admin, c.ID)
	if len(rc.got()) != 3 || v.Status.Position >= seqs[0] || !strings.Contains(v.Status.LastError, "3 tries") || v.Status.FailingSince == nil {
		t.Fatalf("failing: %d requests, %+v", len(rc.got()), v.Status)
	}
	close(up)
	if _, err := e.svc.Update(context.Background(), e.admin, c.ID, webhook.Spec{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the three events", func() bool { return len(rc.got()) == 6 })
	var delivered []uint64
	for _, g := range rc.got()[3:] {
		delivered = append(delivered, g.ev.Seq)
	}
	if !slices.Equal(delivered, seqs) {
		t.Fatalf("delivered %v after the PATCH, want %v", delivered, seqs)
	}
	waitFor(t, "the position", func() bool {
		v, _ := e.svc.Get(context.Background(), e.admin, c.ID)
		return v.Status.Position == seqs[2] && !v.Status.Failing
	})
}

// A 429 or 503 with Retry-After is tried again no sooner than it asks.
func TestRetryAfterHonoured(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter) int {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			return 429
		}
		return 200
	})
	e.create(t, `{"url":"`+rc.srv.URL+`","topics":["app.>"]}`)
	e.publish(t, "app.x", 1)
	waitFor(t, "the retry", func() bool { return len(rc.got()) == 2 })
	if gap := rc.got()[1].at.Sub(rc.got()[0].at); gap < 900*time.Millisecond {
		t.Fatalf("retried after %s; Retry-After said 1 s", gap)
	}
}

// A rotated secret signs alongside the new one for its grace period.
func TestRotationSignsWithBoth(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	rc := newReceiver(t, nil)
	c := e.create(t, `{"url":"`+rc.srv.URL+`","topics":["app.>"]}`)
	r, err := e.svc.Update(context.Background(), e.admin, c.ID, webhook.Spec{Rotate: true})
	if err != nil || r.Secret == "" || r.Secret == c.Secret {
		t.Fatalf("rotate: %+v, %v", r, err)
	}
	e.publish(t, "app.x", 1)
	waitFor(t, "a request", func() bool { return len(rc.got()) == 1 })
	g := rc.got()[0]
	ts, _ := strconv.ParseInt(g.ts, 10, 64)
	if want := standardSign(t, r.Secret, g.id, ts, g.body) + " " + standardSign(t, c.Secret, g.id, ts, g.body); g.sig != want {
		t.Fatalf("signature %q, want the new and the old: %q", g.sig, want)
	}
}

// Replay sends again what was delivered, under the same webhook-ids.
func TestReplay(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	rc := newReceiver(t, nil)
	c := e.create(t, `{"url":"`+rc.srv.URL+`","topics":["app.>"],"ordered":true}`)
	seqs := e.publish(t, "app.x", 3)
	waitFor(t, "three requests", func() bool { return len(rc.got()) == 3 })
	if _, err := e.svc.Replay(context.Background(), e.admin, c.ID, seqs[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replay", func() bool { return len(rc.got()) == 5 })
	reqs := rc.got()
	if reqs[3].ev.Seq != seqs[1] || reqs[4].ev.Seq != seqs[2] || reqs[3].id != reqs[1].id {
		t.Fatalf("replayed %d %d (%s, first sent as %s)", reqs[3].ev.Seq, reqs[4].ev.Seq, reqs[3].id, reqs[1].id)
	}
}

// Events of other types, and of other topics, are passed over.
func TestTypesAndTopics(t *testing.T) {
	e := newEnv(t, webhook.Config{})
	rc := newReceiver(t, nil)
	e.create(t, `{"url":"`+rc.srv.URL+`","topics":["app.a.>"],"types":["want"],"ordered":true}`)
	e.publish(t, "app.a.x", 2) // type "test"
	e.publish(t, "app.b.x", 1)
	acks, err := e.c.Append(context.Background(), "native", []eventlog.Draft{{Topic: "app.a.y", Type: "want", Data: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a request", func() bool { return len(rc.got()) == 1 })
	if g := rc.got()[0]; g.ev.Seq != acks[0].Seq {
		t.Fatalf("delivered %s", g.body)
	}
}

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}
