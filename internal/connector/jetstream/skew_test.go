package jetstream_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/topic"
)

// lastReporter records what each Ingested call said.
type lastReporter struct {
	nopReporter
	mu    sync.Mutex
	lasts []time.Time
}

func (r *lastReporter) Ingested(n int, last time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lasts = append(r.lasts, last)
}

func (r *lastReporter) reported() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lasts)
}

// An upstream whose clock is hours off, then set right (its EventTimes go
// back): the log keeps the upstream's order and its own times, and the
// state reports the upstream's time of the newest event of each batch.
func TestUpstreamClockSkew(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	u := &upstream{}
	skewed := func(batch string, from, to int, at time.Time) []time.Time {
		u.mu.Lock()
		defer u.mu.Unlock()
		var times []time.Time
		for i := from; i < to; i++ {
			et := at.Add(time.Duration(i) * time.Second).UTC().Truncate(time.Second)
			times = append(times, et)
			u.pending = append(u.pending, fmt.Sprintf(`{"Device":"cab","ReceivedTime":%q,"Type":"HeartbeatEvent","EventId":"00000000-0000-4000-8000-%012d","EventTime":%q,"Version":2}`,
				et.Format(time.RFC3339), i, et.Format(time.RFC3339)))
		}
		u.batch = batch
		return times
	}
	before := time.Now()
	ahead := skewed("b1", 0, 3, before.Add(7*time.Hour))
	rep := &lastReporter{}
	stop := runReporting(t, c, u, &memPositions{}, "the-key", rep)
	waitFor(t, "the first batch to be deleted", func() bool { return u.deleted() == 1 })
	behind := skewed("b2", 3, 6, before.Add(-7*time.Hour))
	waitFor(t, "the second batch to be deleted", func() bool { return u.deleted() == 2 })
	stop()
	after := time.Now()

	f, _ := topic.NewFilter([]string{"jetstream.>"})
	evs, _, err := c.Log.Read(t.Context(), 0, f, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 6 {
		t.Fatalf("%d events stored, want 6", len(evs))
	}
	for i, e := range evs {
		if want := fmt.Sprintf("00000000-0000-4000-8000-%012d", i); e.ID != want {
			t.Fatalf("event %d is %s, want %s: not in the upstream's order", i, e.ID, want)
		}
		if e.Time.Before(before.Add(-time.Second)) || e.Time.After(after.Add(time.Second)) {
			t.Fatalf("event %d's log time %v is not the log's clock (%v … %v)", i, e.Time, before, after)
		}
	}
	if got, want := rep.reported(), []time.Time{ahead[2], behind[2]}; !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("reported last event times %v, want the upstream's %v", got, want)
	}
}
