package webhook_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/webhook"
)

// Two nodes on one log: the endpoint's job runs on one of them; when that
// node stops, the other goes on from the position it stored on the way
// out, so an ordered receiver gets every event once, in order.
func TestHandOverToAnotherNode(t *testing.T) {
	a := newEnv(t, webhook.Config{})
	core, err := dialect.Open(context.Background(), a.c.Log, dialect.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(core.Close)
	b, err := webhook.Open(context.Background(), core, webhook.Config{Policy: webhook.Policy{AllowPrivate: true}, Schedule: fast})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	rc := newReceiver(t, func(int, http.ResponseWriter) int { time.Sleep(time.Millisecond); return 200 })
	c := a.create(t, `{"url":"`+rc.srv.URL+`","topics":["app.>"],"ordered":true}`)
	waitFor(t, "the job to run on a node", func() bool {
		_, err := a.c.Leases.Holder(context.Background(), "webhook."+c.ID)
		return err == nil
	})
	h, _ := a.c.Leases.Holder(context.Background(), "webhook."+c.ID)
	holder := a.svc
	if h.Holder == core.Node {
		holder = b
	}
	seqs := a.publish(t, "app.x", 300)
	waitFor(t, "some deliveries", func() bool { return len(rc.got()) >= 50 })
	holder.Close()
	waitFor(t, "every event", func() bool { return len(rc.got()) >= len(seqs) })
	var got []uint64
	for _, g := range rc.got() {
		got = append(got, g.ev.Seq)
	}
	if !slices.Equal(got, seqs) {
		t.Fatalf("the receiver got %d requests for %d events, not each once in order", len(got), len(seqs))
	}
	if h2, err := a.c.Leases.Holder(context.Background(), "webhook."+c.ID); err != nil || h2.Holder == h.Holder {
		t.Fatalf("the job did not move: %+v, %v", h2, err)
	}
}
