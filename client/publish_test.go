package client_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

func TestPublishPoll(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)

	ds := []client.Draft{
		{Topic: "app.door.front", Type: "opened", Data: json.RawMessage(`{"by": "alice"}`), ID: "door-1"},
		{Topic: "app.door.back", Type: "closed"},
		{Topic: "app.light.hall", Type: "on", Data: json.RawMessage(`["<b>", "&"]`)},
	}
	acks := publish(t, c, ds...)
	if len(acks) != len(ds) {
		t.Fatalf("got %d acks for %d drafts", len(acks), len(ds))
	}
	for i, a := range acks {
		if a.Seq == 0 || a.ID == "" || a.Time.IsZero() || a.Duplicate {
			t.Errorf("ack %d = %+v", i, a)
		}
		if i > 0 && a.Seq <= acks[i-1].Seq {
			t.Errorf("ack %d: seq %d not after %d", i, a.Seq, acks[i-1].Seq)
		}
	}
	if acks[0].ID != "door-1" {
		t.Errorf("ack 0 id = %q, want the draft's", acks[0].ID)
	}
	waitVisible(t, c, acks[2].Seq)

	tests := []struct {
		name   string
		opts   client.PollOptions
		want   []int // indexes into ds
		wantNx uint64
	}{
		{"everything", client.PollOptions{After: new(uint64(0))}, []int{0, 1, 2}, acks[2].Seq},
		{"filter", client.PollOptions{Topics: []string{"app.door.*"}, After: new(uint64(0))}, []int{0, 1}, 0},
		{"two filters", client.PollOptions{Topics: []string{"app.door.front", "app.light.>"}, After: new(uint64(0))}, []int{0, 2}, acks[2].Seq},
		{"after", client.PollOptions{After: new(acks[0].Seq)}, []int{1, 2}, acks[2].Seq},
		{"limit", client.PollOptions{After: new(uint64(0)), Limit: 2}, []int{0, 1}, acks[1].Seq},
		{"now", client.PollOptions{}, nil, acks[2].Seq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, next, err := c.Poll(ctx, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(tt.want) {
				t.Fatalf("got %d events, want %d: %+v", len(evs), len(tt.want), evs)
			}
			for i, ev := range evs {
				d, a := ds[tt.want[i]], acks[tt.want[i]]
				if ev.Seq != a.Seq || ev.ID != a.ID || ev.Topic != d.Topic || ev.Type != d.Type || !ev.Time.Equal(a.Time) {
					t.Errorf("event %d = %+v, want %+v / %+v", i, ev, d, a)
				}
			}
			if tt.wantNx != 0 && next != tt.wantNx {
				t.Errorf("next = %d, want %d", next, tt.wantNx)
			}
			if len(evs) > 0 && next < evs[len(evs)-1].Seq {
				t.Errorf("next %d is before the last event %d", next, evs[len(evs)-1].Seq)
			}
		})
	}

	// Data comes back compact, and an absent payload as null.
	evs, _, err := c.Poll(ctx, client.PollOptions{After: new(uint64(0))})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{`{"by":"alice"}`, `null`, `["<b>","&"]`} {
		if got := string(evs[i].Data); got != want {
			t.Errorf("event %d data = %s, want %s", i, got, want)
		}
	}
}

func TestPublishDuplicateID(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	d := client.Draft{Topic: "app.x", Type: "t", ID: client.NewID()}
	first := publish(t, c, d)[0]
	again := publish(t, c, d)[0]
	if !again.Duplicate || again.Seq != first.Seq {
		t.Fatalf("retry = %+v, want a duplicate of %+v", again, first)
	}
	waitVisible(t, c, first.Seq)
	evs, _, err := c.Poll(testContext(t), client.PollOptions{After: new(uint64(0))})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("stored %d events, want 1", len(evs))
	}
}

func TestPublishNothing(t *testing.T) {
	// No drafts, no request: an unreachable server must not matter.
	acks, err := client.New("http://127.0.0.1:1", "k").Publish(context.Background())
	if err != nil || acks != nil {
		t.Fatalf("Publish() = %v, %v; want nil, nil", acks, err)
	}
}

func TestPollWait(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)
	_, start, err := c.Poll(ctx, client.PollOptions{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("times out empty", func(t *testing.T) {
		t0 := time.Now()
		evs, next, err := c.Poll(ctx, client.PollOptions{After: &start, Wait: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 0 || next != start {
			t.Fatalf("got %d events, next %d; want none, %d", len(evs), next, start)
		}
		if d := time.Since(t0); d < 150*time.Millisecond {
			t.Fatalf("answered after %s, before the wait", d)
		}
	})

	t.Run("wakes on publish", func(t *testing.T) {
		got := make(chan []client.Event, 1)
		errc := make(chan error, 1)
		go func() {
			evs, _, err := c.Poll(ctx, client.PollOptions{After: &start, Wait: 30 * time.Second})
			errc <- err
			got <- evs
		}()
		time.Sleep(100 * time.Millisecond)
		acks := publish(t, c, drafts("app.wake", 0, 1)...)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		evs := <-got
		if len(evs) != 1 || evs[0].Seq != acks[0].Seq {
			t.Fatalf("got %+v, want seq %d", evs, acks[0].Seq)
		}
	})
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := client.NewID()
		if len(id) != 36 || id[14] != '4' || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			t.Fatalf("NewID() = %q, not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}
