package dialect_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/dialect"
	"github.com/herald-io/herald/internal/dialect/dialecttest"
	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/topic"
)

// pager is a Reader over a real one that counts reads and can answer as
// the engine does in the cases a small log does not reach: cut a page
// short (the byte limit: next is the last event returned), or scan the
// whole stream and filter (a replicated log: a page may hold no match
// while next advances).
type pager struct {
	r     dialect.Reader
	reads int
	cut   int  // at most this many events a page (0: no cut)
	whole bool // read every event, filter here
}

func (p *pager) Read(ctx context.Context, after uint64, f topic.Filter, max int) ([]eventlog.Event, uint64, error) {
	p.reads++
	rf := f
	if p.whole {
		rf = nil
	}
	evs, next, err := p.r.Read(ctx, after, rf, max)
	if err != nil {
		return nil, next, err
	}
	if p.cut > 0 && len(evs) > p.cut {
		evs = evs[:p.cut]
		next = evs[len(evs)-1].Seq
	}
	if p.whole {
		evs = slices.DeleteFunc(evs, func(e eventlog.Event) bool { return !f.Match(e.Topic) })
	}
	return evs, next, nil
}

// appendEvents appends n events: every third on "b.x", the others on "a.x".
func appendEvents(t *testing.T, l *eventlog.Log, n int) {
	t.Helper()
	drafts := make([]eventlog.Draft, n)
	for i := range drafts {
		tp := "a.x"
		if (i+1)%3 == 0 {
			tp = "b.x"
		}
		drafts[i] = eventlog.Draft{Topic: tp, Type: "t", Data: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i+1))}
	}
	if _, err := l.Append(context.Background(), drafts); err != nil {
		t.Fatal(err)
	}
}

// seqs is from..to, without the multiples of three when only is "a".
func seqs(from, to uint64, only string) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		if only != "a" || s%3 != 0 {
			out = append(out, s)
		}
	}
	return out
}

// The scan's contract over a log of 30 events (1..30, every third on b.x):
// what it yields, how many reads it takes, where it says it is.
func TestScan(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	appendEvents(t, c.Log, 30)
	tests := []struct {
		name     string
		pager    pager
		after    uint64
		f        topic.Filter
		opts     []dialect.ScanOption
		stopAt   uint64 // break after yielding this event (0: range to the end)
		want     []uint64
		reads    int
		position uint64
	}{
		{name: "all in order across pages", opts: []dialect.ScanOption{dialect.Page(7)},
			want: seqs(1, 30, ""), reads: 6, position: 30}, // 1-7 … 29-30, then the read that finds the end
		{name: "from a position", after: 12, opts: []dialect.ScanOption{dialect.Page(7)},
			want: seqs(13, 30, ""), reads: 4, position: 30},
		{name: "filter", f: topic.Filter{"a.>"}, opts: []dialect.ScanOption{dialect.Page(4)},
			want: seqs(1, 30, "a"), reads: 7, position: 30}, // 5 full pages, 29-30 holds no a, then the end
		{name: "filter, default page", f: topic.Filter{"b.>"},
			want: []uint64{3, 6, 9, 12, 15, 18, 21, 24, 27, 30}, reads: 2, position: 30},
		{name: "through the end: no read to find it", opts: []dialect.ScanOption{dialect.Through(30)},
			want: seqs(1, 30, ""), reads: 1, position: 30},
		{name: "through a bound: no page past it", opts: []dialect.ScanOption{dialect.Page(4), dialect.Through(10)},
			want: seqs(1, 12, ""), reads: 3, position: 12}, // the page that reaches 10 is yielded whole
		{name: "through a bound already reached", after: 10, opts: []dialect.ScanOption{dialect.Through(10)},
			reads: 0, position: 10},
		{name: "break reads no further page", opts: []dialect.ScanOption{dialect.Page(4)}, stopAt: 5,
			want: seqs(1, 5, ""), reads: 2, position: 5},
		{name: "break on the first event", f: topic.Filter{"b.>"}, stopAt: 3,
			want: []uint64{3}, reads: 1, position: 3},
		{name: "pages cut at the byte limit", pager: pager{cut: 3}, f: topic.Filter{"a.>"},
			want: seqs(1, 30, "a"), reads: 8, position: 30}, // 20 events, 3 a page, then the end
		{name: "a full page is not the end", opts: []dialect.ScanOption{dialect.Page(4), dialect.Through(30)},
			want: seqs(1, 30, ""), reads: 8, position: 30},
		{name: "pages without a match are not the end", pager: pager{whole: true}, f: topic.Filter{"b.>"}, after: 21,
			opts: []dialect.ScanOption{dialect.Page(2)}, want: []uint64{24, 27, 30}, reads: 6, position: 30},
		{name: "past the end", after: 30, reads: 1, position: 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.pager
			p.r = c.Log
			sc := dialect.NewScan(&p, tt.after, tt.f, tt.opts...)
			var got []uint64
			for ev := range sc.Events(t.Context()) {
				if len(got) > 0 && ev.Seq <= got[len(got)-1] {
					t.Fatalf("event %d after %d", ev.Seq, got[len(got)-1])
				}
				if !tt.f.Match(ev.Topic) {
					t.Fatalf("event %d on %s: not in %v", ev.Seq, ev.Topic, tt.f)
				}
				got = append(got, ev.Seq)
				if ev.Seq == tt.stopAt {
					break
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events %v, want %v", got, tt.want)
			}
			if p.reads != tt.reads {
				t.Errorf("%d reads, want %d", p.reads, tt.reads)
			}
			if sc.Position() != tt.position {
				t.Errorf("position %d, want %d", sc.Position(), tt.position)
			}
		})
	}
}

// After a break, ranging again goes on from the event after the last one
// yielded, re-reading the rest of its page.
func TestScanResumes(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	appendEvents(t, c.Log, 30)
	sc := c.Scan(0, topic.Filter{"a.>"}, dialect.Page(4))
	var got []uint64
	for ev := range sc.Events(t.Context()) {
		if got = append(got, ev.Seq); len(got) == 6 {
			break
		}
	}
	for ev := range sc.Events(t.Context()) {
		got = append(got, ev.Seq)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if want := seqs(1, 30, "a"); !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
}

// A position older than retention ends the scan with the ExpiredError,
// before any event; with SkipExpired the scan goes on from the earliest
// stored event.
func TestScanExpired(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{Log: eventlog.Config{MaxBytes: 4 << 10}})
	for range 10 {
		appendEvents(t, c.Log, 10)
	}
	first, last, err := c.Log.Bounds(t.Context())
	if err != nil || first <= 2 {
		t.Fatalf("retention removed nothing: first %d, %v", first, err)
	}
	sc := dialect.NewScan(c.Log, 0, nil)
	for ev := range sc.Events(t.Context()) {
		t.Fatalf("event %d from an expired position", ev.Seq)
	}
	var ee *eventlog.ExpiredError
	if !errors.As(sc.Err(), &ee) || ee.Earliest != first || !errors.Is(sc.Err(), eventlog.ErrExpired) {
		t.Fatalf("err %v, want expired with earliest %d", sc.Err(), first)
	}
	if sc.Position() != 0 {
		t.Fatalf("position %d after nothing was read", sc.Position())
	}

	sc = dialect.NewScan(c.Log, 1, nil, dialect.SkipExpired())
	var got []uint64
	for ev := range sc.Events(t.Context()) {
		got = append(got, ev.Seq)
	}
	if sc.Err() != nil || !slices.Equal(got, seqs(first, last, "")) {
		t.Fatalf("skipping the gap: events %v, err %v; want %d..%d", got, sc.Err(), first, last)
	}
}

// Pages of large events stop at the engine's byte limit for one answer;
// the scan gets every event, in order, over more than one page.
func TestScanLargeEvents(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	big := json.RawMessage(`"` + strings.Repeat("x", 700<<10) + `"`)
	const total = 14 // 10 MB: more than one answer's worth
	for range total {
		if _, err := c.Log.Append(t.Context(), []eventlog.Draft{{Topic: "big.a", Type: "t", Data: big}}); err != nil {
			t.Fatal(err)
		}
	}
	p := &pager{r: c.Log}
	sc := dialect.NewScan(p, 0, topic.Filter{"big.>"})
	var got []uint64
	for ev := range sc.Events(t.Context()) {
		got = append(got, ev.Seq)
	}
	if sc.Err() != nil || !slices.Equal(got, seqs(1, total, "")) {
		t.Fatalf("events %v, err %v", got, sc.Err())
	}
	if p.reads < 3 { // two pages at least, and the end
		t.Fatalf("%d reads: the byte limit did not apply", p.reads)
	}
}

// A scan whose context ends stops with the context's error, reading nothing.
func TestScanContext(t *testing.T) {
	c := dialecttest.NewCore(t, dialecttest.Options{})
	appendEvents(t, c.Log, 3)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p := &pager{r: c.Hub}
	sc := dialect.NewScan(p, 0, nil)
	for ev := range sc.Events(ctx) {
		t.Fatalf("event %d after the context ended", ev.Seq)
	}
	if !errors.Is(sc.Err(), context.Canceled) || p.reads != 0 {
		t.Fatalf("err %v after %d reads", sc.Err(), p.reads)
	}
}
