package client_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

func TestSubscriptions(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)
	before := publish(t, c, drafts("app.s", 0, 2)...)

	sub, err := c.PutSubscription(ctx, "orders", client.SubscriptionSpec{Topics: []string{"app.s"}, Start: client.StartAt(before[1].Seq)})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Name != "orders" || !slices.Equal(sub.Topics, []string{"app.s"}) || sub.Position != before[0].Seq || sub.Batch != "" {
		t.Fatalf("created %+v", sub)
	}
	acks := append(before[1:], publish(t, c, drafts("app.s", 2, 4)...)...)
	publish(t, c, drafts("app.other", 0, 3)...) // not for this subscription

	// The first three, then the same three again until acknowledged.
	b1, err := c.Fetch(ctx, "orders", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b1.ID == "" {
		t.Fatal("no batch id")
	}
	checkExactly(t, b1.Events, acks[:3])
	again, err := c.Fetch(ctx, "orders", 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != b1.ID {
		t.Fatalf("refetch gave batch %q, want the pending %q", again.ID, b1.ID)
	}
	checkExactly(t, again.Events, acks[:3])
	if got, err := c.GetSubscription(ctx, "orders"); err != nil || got.Batch != b1.ID || got.Pending < 2 {
		t.Fatalf("GetSubscription = %+v, %v; want batch %q pending", got, err, b1.ID)
	}

	if err := c.Ack(ctx, "orders", b1.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.Ack(ctx, "orders", b1.ID); !errors.Is(err, client.ErrBatchNotPending) {
		t.Fatalf("second ack = %v, want ErrBatchNotPending", err)
	}
	b2, err := c.Fetch(ctx, "orders", 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkExactly(t, b2.Events, acks[3:])
	if err := c.AckUpTo(ctx, "orders", acks[len(acks)-1].Seq); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	empty, err := c.Fetch(ctx, "orders", 10, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if empty.ID != "" || len(empty.Events) != 0 || time.Since(t0) < 150*time.Millisecond {
		t.Fatalf("empty fetch = %+v after %s", empty, time.Since(t0))
	}

	// Changing the topics keeps the position (which the empty fetch moved
	// past the events of other topics).
	pos, err := c.GetSubscription(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	sub, err = c.PutSubscription(ctx, "orders", client.SubscriptionSpec{Topics: []string{"app.>"}})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Position != pos.Position || sub.Position < acks[len(acks)-1].Seq || !slices.Equal(sub.Topics, []string{"app.>"}) {
		t.Fatalf("updated %+v", sub)
	}
	if _, err := c.PutSubscription(ctx, "later", client.SubscriptionSpec{}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListSubscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"later", "orders"}) {
		t.Fatalf("ListSubscriptions names = %v", names)
	}

	if err := c.DeleteSubscription(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSubscription(ctx, "orders"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("GetSubscription after delete = %v, want ErrNotFound", err)
	}
	if err := c.DeleteSubscription(ctx, "orders"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("second delete = %v, want ErrNotFound", err)
	}
}

// AckFetch acknowledges a batch and fetches the next in one request; sent
// again, it finds the batch acknowledged and returns the same next batch.
func TestAckFetch(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)
	if _, err := c.PutSubscription(ctx, "loop", client.SubscriptionSpec{Topics: []string{"app.l"}, Start: client.StartEarliest}); err != nil {
		t.Fatal(err)
	}
	acks := publish(t, c, drafts("app.l", 0, 3)...)
	b1, err := c.Fetch(ctx, "loop", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkExactly(t, b1.Events, acks[:2])
	b2, err := c.AckFetch(ctx, "loop", b1.ID, 2, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	checkExactly(t, b2.Events, acks[2:])
	again, err := c.AckFetch(ctx, "loop", b1.ID, 2, 0)
	if err != nil || again.ID != b2.ID {
		t.Fatalf("AckFetch sent again = %+v, %v; want batch %q", again, err, b2.ID)
	}
	if _, err := c.AckFetch(ctx, "loop", "never", 2, 0); !errors.Is(err, client.ErrBatchNotPending) {
		t.Fatalf("AckFetch of a batch never pending = %v, want ErrBatchNotPending", err)
	}
	empty, err := c.AckFetch(ctx, "loop", b2.ID, 2, 0)
	if err != nil || empty.ID != "" || len(empty.Events) != 0 {
		t.Fatalf("AckFetch of the last batch = %+v, %v", empty, err)
	}
	if sub, err := c.GetSubscription(ctx, "loop"); err != nil || sub.Position != acks[2].Seq || sub.Batch != "" {
		t.Fatalf("GetSubscription = %+v, %v", sub, err)
	}
}

func TestFetchWaitsForEvent(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)
	if _, err := c.PutSubscription(ctx, "w", client.SubscriptionSpec{Topics: []string{"app.>"}}); err != nil {
		t.Fatal(err)
	}
	type result struct {
		b   client.Batch
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := c.Fetch(ctx, "w", 10, 30*time.Second)
		done <- result{b, err}
	}()
	time.Sleep(100 * time.Millisecond)
	acks := publish(t, c, drafts("app.w", 0, 1)...)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	checkExactly(t, r.b.Events, acks)
}
