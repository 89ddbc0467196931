package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/topic"
)

func openTest(t testing.TB, cfg Config) *Log {
	t.Helper()
	if cfg.Dir == "" && len(cfg.URLs) == 0 {
		cfg.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func drafts(topicName string, n int) []Draft {
	out := make([]Draft, n)
	for i := range out {
		out[i] = Draft{Topic: topicName, Type: "t", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	return out
}

func TestAppendRead(t *testing.T) {
	l := openTest(t, Config{})
	ctx := context.Background()
	acks, err := l.Append(ctx, []Draft{
		{Topic: "app.a", Type: "x", Data: json.RawMessage(`{"v":1}`)},
		{Topic: "app.b.c", Type: "y", Data: json.RawMessage(`[1,2]`), ID: "mine"},
		{Topic: "hue.light.1", Type: "update", Data: json.RawMessage(`{}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range acks {
		if a.Seq != uint64(i+1) {
			t.Fatalf("ack %d seq = %d", i, a.Seq)
		}
	}
	if acks[1].ID != "mine" || acks[0].ID == "" || acks[0].ID == acks[2].ID {
		t.Fatalf("ids: %+v", acks)
	}
	tests := []struct {
		filter string
		after  uint64
		seqs   []uint64
	}{
		{"", 0, []uint64{1, 2, 3}},
		{"app.>", 0, []uint64{1, 2}},
		{"app.*", 0, []uint64{1}},
		{"app.a,hue.>", 0, []uint64{1, 3}},
		{"app.>,app.b.c", 0, []uint64{1, 2}},
		{"", 2, []uint64{3}},
		{"", 3, nil},
		{"nope.>", 0, nil},
	}
	for _, tc := range tests {
		f, err := topic.ParseFilter(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		evs, next, err := l.Read(ctx, tc.after, f, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, e := range evs {
			got = append(got, e.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.seqs) {
			t.Errorf("Read(%d, %q) = %v, want %v", tc.after, tc.filter, got, tc.seqs)
		}
		if next != 3 {
			t.Errorf("Read(%d, %q) next = %d, want 3", tc.after, tc.filter, next)
		}
	}
	evs, _, _ := l.Read(ctx, 1, nil, 1)
	e := evs[0]
	if e.ID != "mine" || e.Topic != "app.b.c" || e.Type != "y" || string(e.Data) != "[1,2]" || !e.Time.Equal(acks[1].Time) {
		t.Fatalf("event = %+v, ack %+v", e, acks[1])
	}
}

func TestReadPagesWithMultiplePatterns(t *testing.T) {
	l := openTest(t, Config{})
	ctx := context.Background()
	var ds []Draft
	for i := 0; i < 300; i++ {
		ds = append(ds, Draft{Topic: fmt.Sprintf("t%d.x", i%3), Type: "t", Data: json.RawMessage("1")})
	}
	if _, err := l.Append(ctx, ds); err != nil {
		t.Fatal(err)
	}
	f, _ := topic.ParseFilter("t0.x,t2.x")
	var got []uint64
	after := uint64(0)
	for i := 0; i < 100; i++ {
		evs, next, err := l.Read(ctx, after, f, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 7 || next <= after && next != 300 {
			t.Fatalf("page: %d events, next %d after %d", len(evs), next, after)
		}
		for _, e := range evs {
			got = append(got, e.Seq)
		}
		if next == 300 {
			break
		}
		after = next
	}
	if len(got) != 200 {
		t.Fatalf("got %d events, want 200", len(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] || (got[i]-1)%3 == 1 {
			t.Fatalf("bad sequence at %d: %v", i, got[i-1:i+1])
		}
	}
}

func TestDuplicateID(t *testing.T) {
	l := openTest(t, Config{})
	ctx := context.Background()
	d := []Draft{{ID: "order-42", Topic: "app.orders", Type: "created", Data: json.RawMessage(`1`)}}
	a1, err := l.Append(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	a2, err := l.Append(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if !a2[0].Duplicate || a2[0].Seq != a1[0].Seq || !a2[0].Time.Equal(a1[0].Time) {
		t.Fatalf("retry not deduplicated: %+v then %+v", a1[0], a2[0])
	}
	_, last, _ := l.Bounds(ctx)
	if last != 1 {
		t.Fatalf("last = %d, want 1", last)
	}
}

func TestInvalidDraftsChangeNothing(t *testing.T) {
	l := openTest(t, Config{})
	ctx := context.Background()
	bad := [][]Draft{
		{{Topic: "", Type: "x"}},
		{{Topic: "a.>", Type: "x"}},
		{{Topic: "a..b", Type: "x"}},
		{{Topic: "a.b", Type: ""}},
		{{Topic: "ok", Type: "x"}, {Topic: "bad topic", Type: "x"}},
	}
	for _, ds := range bad {
		if _, err := l.Append(ctx, ds); err == nil {
			t.Errorf("Append(%+v) succeeded", ds)
		}
	}
	if _, last, _ := l.Bounds(ctx); last != 0 {
		t.Fatalf("bad input stored events: last = %d", last)
	}
}

func TestRetentionExpires(t *testing.T) {
	l := openTest(t, Config{MaxBytes: 8 << 10})
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		if _, err := l.Append(ctx, drafts("app.x", 10)); err != nil {
			t.Fatal(err)
		}
	}
	first, last, _ := l.Bounds(ctx)
	if first <= 1 || last != 200 {
		t.Fatalf("bounds %d..%d: retention did not remove anything", first, last)
	}
	_, _, err := l.Read(ctx, 0, nil, 10)
	var ee *ExpiredError
	if !errors.As(err, &ee) || !errors.Is(err, ErrExpired) || ee.Earliest != first {
		t.Fatalf("Read(0) err = %v, want expired with earliest %d", err, first)
	}
	evs, _, err := l.Read(ctx, first-1, nil, 1)
	if err != nil || len(evs) != 1 || evs[0].Seq != first {
		t.Fatalf("Read(first-1) = %v, %v", evs, err)
	}
}

func TestTail(t *testing.T) {
	l := openTest(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := l.Append(ctx, drafts("app.x", 5)); err != nil {
		t.Fatal(err)
	}
	got := make(chan Event, 100)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := l.Tail(ctx, 2, func(e Event) { got <- e }); err != nil {
			t.Error(err)
		}
	}()
	if _, err := l.Append(ctx, drafts("app.y", 5)); err != nil {
		t.Fatal(err)
	}
	for want := uint64(3); want <= 10; want++ {
		select {
		case e := <-got:
			if e.Seq != want || e.Type != "t" || e.Time.IsZero() {
				t.Fatalf("tail event %+v, want seq %d", e, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("tail: timeout waiting for %d", want)
		}
	}
	cancel()
	wg.Wait()
}

func TestFsyncAlways(t *testing.T) {
	l := openTest(t, Config{Fsync: FsyncAlways})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if _, err := l.Append(ctx, drafts("app.x", 5)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if _, last, _ := l.Bounds(ctx); last != 800 {
		t.Fatalf("last = %d, want 800", last)
	}
}

// A retention age the engine would refuse is refused by Open with a clear
// message, before the engine is started; the dedupe window itself is fine.
func TestOpenChecksRetentionAge(t *testing.T) {
	tests := []struct {
		age     time.Duration
		wantErr string
	}{
		{age: time.Minute, wantErr: "retention age 1m0s is below the minimum of 2m0s"},
		{age: -time.Hour, wantErr: "retention age -1h0m0s is negative"},
		{age: DedupeWindow},
	}
	for _, tt := range tests {
		t.Run(tt.age.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "engine")
			l, err := Open(context.Background(), Config{Dir: dir, MaxAge: tt.age})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				l.Close()
				return
			}
			if err == nil {
				l.Close()
				t.Fatalf("Open with MaxAge %v succeeded", tt.age)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open: %q; want it to say %q", err, tt.wantErr)
			}
			if _, serr := os.Stat(dir); !errors.Is(serr, fs.ErrNotExist) {
				t.Errorf("the engine's directory exists after the refusal (%v)", serr)
			}
		})
	}
}

// The engine's subject wildcards know nothing of the private namespace:
// a read of everything (or of "*.>") does not return a Zulip realm's
// messages, and its position still covers them; naming the namespace does.
func TestReadLeavesThePrivateNamespaceToItsOwnPatterns(t *testing.T) {
	l := openTest(t, Config{})
	ctx := context.Background()
	if _, err := l.Append(ctx, append(append(drafts("app.a", 2), drafts("zulip.acme.message", 3)...), drafts("app.b", 1)...)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    topic.Filter
		want int
	}{{nil, 3}, {topic.Filter{"*.>"}, 3}, {topic.Filter{"zulip.>"}, 3}, {topic.Filter{"app.>", "zulip.>"}, 6}} {
		evs, next, err := l.Read(ctx, 0, tc.f, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != tc.want || next != 6 {
			t.Fatalf("Read(%v): %d events, next %d; want %d, next 6", tc.f, len(evs), next, tc.want)
		}
		for _, e := range evs {
			if !tc.f.Match(e.Topic) {
				t.Fatalf("Read(%v) returned %s", tc.f, e.Topic)
			}
		}
	}
}
