package metrics

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/clocktest"
)

func newTestHistory(keep time.Duration) (*Metrics, *History, *clocktest.Clock) {
	m := New()
	c := clocktest.New(time.Date(2026, 5, 6, 7, 8, 0, 0, time.UTC))
	return m, NewHistory(m, HistoryConfig{Every: 2 * time.Second, Keep: keep, Now: c.Now}), c
}

// A sample holds the rates of the counters over the interval since the
// previous one, and the gauges as they are.
func TestHistorySample(t *testing.T) {
	m, h, c := newTestHistory(time.Minute)
	m.EventsAppended.WithLabelValues("native").Add(10)
	m.EventsAppended.WithLabelValues("hue").Add(6)
	m.EventsDelivered.WithLabelValues("sse").Add(40)
	m.EventsDelivered.WithLabelValues("websocket").Add(4)
	m.Subscribers.WithLabelValues("sse").Set(3)
	m.Subscribers.WithLabelValues("websocket").Set(0)
	m.TailLag.Set(7)
	m.SubscriptionLag.WithLabelValues("a").Set(5)
	m.SubscriptionLag.WithLabelValues("b").Set(12)
	m.WebhookLag.WithLabelValues("w1").Set(3)
	m.WebhookLag.WithLabelValues("w2").Set(9)
	m.StreamsCut.WithLabelValues("sse", "fault").Add(2)
	m.FaultsInjected.WithLabelValues("native", "status").Add(4)
	m.FaultRules.Set(1)
	for range 99 {
		m.AppendSeconds.Observe(0.0005) // the 0.0004–0.0008 bucket
	}
	m.AppendSeconds.Observe(0.05) // the one slow append: the p99
	c.Advance(2 * time.Second)
	h.Sample()

	got := h.Samples(time.Time{})
	if len(got) != 1 {
		t.Fatalf("%d samples, want 1", len(got))
	}
	s := got[0]
	if !s.Time().Equal(c.Now()) {
		t.Errorf("time %v, want %v", s.Time(), c.Now())
	}
	if s.Appended != 8 {
		t.Errorf("appended %v/s, want 8 (16 in 2 s)", s.Appended)
	}
	if s.Delivered["sse"] != 20 || s.Delivered["websocket"] != 2 || len(s.Delivered) != 2 {
		t.Errorf("delivered %v, want sse 20/s, websocket 2/s", s.Delivered)
	}
	if s.Subscribers["sse"] != 3 || len(s.Subscribers) != 1 {
		t.Errorf("subscribers %v, want sse 3 (transports with none left out)", s.Subscribers)
	}
	if s.TailLag != 7 || s.SubscriptionLag != 12 || s.WebhookLag != 9 || s.StreamsCut != 1 || s.Faults != 2 || s.FaultRules != 1 {
		t.Errorf("tail lag %v, subscription lag %v, webhook lag %v, cut %v/s, faults %v/s, rules %v; want 7, 12, 9, 1, 2, 1",
			s.TailLag, s.SubscriptionLag, s.WebhookLag, s.StreamsCut, s.Faults, s.FaultRules)
	}
	// The 100th of 100 appends is in the 0.0256–0.0512 s bucket; the p99
	// (the 99th) is the top of the 0.0004–0.0008 s one.
	if s.PublishP99 == nil || math.Abs(*s.PublishP99-0.8) > 1e-9 {
		t.Errorf("publish p99 %v ms, want 0.8", s.PublishP99)
	}

	// The next interval: only what happened in it.
	m.EventsAppended.WithLabelValues("native").Add(4)
	c.Advance(2 * time.Second)
	h.Sample()
	s = h.Samples(time.Time{})[1]
	if s.Appended != 2 || s.Delivered["sse"] != 0 || s.PublishP99 != nil {
		t.Errorf("second interval: appended %v/s, sse %v/s, p99 %v; want 2, 0, none (no appends observed)",
			s.Appended, s.Delivered["sse"], s.PublishP99)
	}
}

// The history keeps Keep's worth of samples, oldest first, and answers
// only those after a time.
func TestHistoryRing(t *testing.T) {
	m, h, c := newTestHistory(10 * time.Second) // 5 samples
	for i := range 8 {
		m.TailLag.Set(float64(i))
		c.Advance(2 * time.Second)
		h.Sample()
	}
	all := h.Samples(time.Time{})
	if len(all) != 5 {
		t.Fatalf("%d samples kept, want 5", len(all))
	}
	for i, s := range all {
		if s.TailLag != float64(i+3) {
			t.Errorf("sample %d: tail lag %v, want %d (oldest first)", i, s.TailLag, i+3)
		}
	}
	since := h.Samples(all[2].Time())
	if len(since) != 2 || since[0].TailLag != 6 {
		t.Errorf("samples after the third: %+v, want the last two", since)
	}
}

// Run samples every Every until its context ends.
func TestHistoryRun(t *testing.T) {
	m := New()
	h := NewHistory(m, HistoryConfig{Every: time.Millisecond, Keep: time.Second})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		h.Run(ctx)
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(h.Samples(time.Time{})) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("Run took no samples")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
}
