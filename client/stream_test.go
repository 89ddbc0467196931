package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

// readN reads n events from s and fails the test on any error.
func readN(t *testing.T, ctx context.Context, s *client.Stream, n int) []client.Event {
	t.Helper()
	evs := make([]client.Event, 0, n)
	for len(evs) < n {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("after %d of %d events: %v", len(evs), n, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// checkExactly fails unless evs are the acked events, in order, once each.
func checkExactly(t *testing.T, evs []client.Event, acks []client.Ack) {
	t.Helper()
	if len(evs) != len(acks) {
		t.Fatalf("got %d events, want %d", len(evs), len(acks))
	}
	for i := range evs {
		if evs[i].Seq != acks[i].Seq || evs[i].ID != acks[i].ID {
			t.Fatalf("event %d = seq %d id %s, want seq %d id %s", i, evs[i].Seq, evs[i].ID, acks[i].Seq, acks[i].ID)
		}
	}
}

func TestStream(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)
	acks := publish(t, c, drafts("app.a", 0, 5)...)
	acks = append(acks, publish(t, c, drafts("other.b", 0, 2)...)...)

	tests := []struct {
		name   string
		opts   client.StreamOptions
		expect []client.Ack
	}{
		{"from start", client.StreamOptions{After: new(uint64(0))}, acks},
		{"after", client.StreamOptions{After: new(acks[3].Seq)}, acks[4:]},
		{"topics", client.StreamOptions{Topics: []string{"app.>"}, After: new(uint64(0))}, acks[:5]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := c.Stream(ctx, tt.opts)
			defer s.Close()
			checkExactly(t, readN(t, ctx, s, len(tt.expect)), tt.expect)
			if got, want := s.Position(), tt.expect[len(tt.expect)-1].Seq; got != want {
				t.Errorf("Position() = %d, want %d", got, want)
			}
		})
	}
}

func TestStreamFromNow(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)
	old := publish(t, c, drafts("app.a", 0, 3)...)
	waitVisible(t, c, old[2].Seq) // else "now" may still be before them

	s := c.Stream(ctx, client.StreamOptions{})
	defer s.Close()
	// The first Next connects; nothing new exists yet, so it times out.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := s.Next(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %v, want a timeout", err)
	}
	if got := s.Position(); got != old[2].Seq {
		t.Fatalf("Position() = %d, want the last event before the stream, %d", got, old[2].Seq)
	}
	// The Stream is still usable after a Next timed out.
	fresh := publish(t, c, drafts("app.a", 3, 2)...)
	checkExactly(t, readN(t, ctx, s, 2), fresh)
}

// TestStreamResumeAcrossRestart stops the server under a stream twice while
// events are published before, during and after; the consumer must see each
// of them once, in order.
func TestStreamResumeAcrossRestart(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)

	var mu sync.Mutex
	var retries []error
	var reconnects []uint64
	s := c.Stream(ctx, client.StreamOptions{
		Topics: []string{"app.>"},
		After:  new(uint64(0)),
		OnReconnect: func(after uint64) {
			mu.Lock()
			reconnects = append(reconnects, after)
			mu.Unlock()
		},
		OnRetry: func(err error, wait time.Duration) {
			mu.Lock()
			retries = append(retries, err)
			mu.Unlock()
			if wait < 100*time.Millisecond || wait > 5*time.Second {
				t.Errorf("retry wait %s outside 100ms..5s", wait)
			}
		},
	})
	defer s.Close()

	var acks []client.Ack
	acks = append(acks, publish(t, c, drafts("app.r", 0, 50)...)...)
	got := readN(t, ctx, s, 20) // 30 published events are left unread

	for round := range 2 {
		ts.Stop()
		// Next keeps trying while the server is down.
		type result struct {
			evs []client.Event
			err error
		}
		done := make(chan result, 1)
		want := 30 + 40 // the unread ones, then the ones published after the restart
		go func() {
			var r result
			for len(r.evs) < want && r.err == nil {
				var ev client.Event
				ev, r.err = s.Next(ctx)
				r.evs = append(r.evs, ev)
			}
			done <- r
		}()
		time.Sleep(300 * time.Millisecond) // a few failed reconnections
		ts.Start()
		fresh := drafts("app.r", len(acks), 40)
		for i := 0; i < len(fresh); i += 10 {
			acks = append(acks, publish(t, c, fresh[i:i+10]...)...)
		}
		r := <-done
		if r.err != nil {
			t.Fatalf("round %d: %v", round, r.err)
		}
		got = append(got, r.evs...)
		// Events outside the filter don't count; leave 30 matching ones
		// unread for the next round.
		publish(t, c, drafts("other.x", 0, 5)...)
		acks = append(acks, publish(t, c, drafts("app.r", len(acks), 30)...)...)
	}
	got = append(got, readN(t, ctx, s, 30)...)
	checkExactly(t, got, acks)

	mu.Lock()
	defer mu.Unlock()
	if len(retries) < 2 {
		t.Fatalf("OnRetry saw %d failures; the stream did not reconnect through both restarts", len(retries))
	}
	if len(reconnects) != 2 {
		t.Fatalf("OnReconnect was called after %v; want once per restart", reconnects)
	}
}

func TestStreamReset(t *testing.T) {
	ts := startServer(t, server.Config{RetentionBytes: 4096})
	c := ts.adminClient()
	ctx := testContext(t)
	for i := range 10 {
		ds := drafts("app.big", i*10, 10)
		for j := range ds {
			ds[j].Data = fmt.Appendf(nil, `{"n":%d,"pad":"%0200d"}`, i*10+j, 0)
		}
		publish(t, c, ds...)
	}
	// Read back from a fresh process, so nothing comes from memory.
	ts.Restart()

	_, _, err := c.Poll(ctx, client.PollOptions{After: new(uint64(0))})
	var pollErr *client.APIError
	if !errors.Is(err, client.ErrPositionExpired) || !errors.As(err, &pollErr) || pollErr.Earliest <= 1 {
		t.Fatalf("Poll(after 0) = %v, want ErrPositionExpired with earliest > 1", err)
	}

	s := c.Stream(ctx, client.StreamOptions{After: new(uint64(0))})
	defer s.Close()
	_, err = s.Next(ctx)
	var apiErr *client.APIError
	if !errors.Is(err, client.ErrPositionExpired) || !errors.As(err, &apiErr) {
		t.Fatalf("Next = %v, want ErrPositionExpired", err)
	}
	if apiErr.Earliest != pollErr.Earliest {
		t.Errorf("stream earliest %d, poll earliest %d", apiErr.Earliest, pollErr.Earliest)
	}
	// The error sticks until the caller decides.
	if _, again := s.Next(ctx); !errors.Is(again, client.ErrPositionExpired) {
		t.Fatalf("second Next = %v, want the reset again", again)
	}
	s.ResumeAfter(apiErr.Earliest - 1)
	ev, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Seq != apiErr.Earliest {
		t.Fatalf("after ResumeAfter got seq %d, want the earliest, %d", ev.Seq, apiErr.Earliest)
	}
}

func TestStreamEventTypedReset(t *testing.T) {
	// An ordinary event of type "reset" has an id; it is not the control event.
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)
	acks := publish(t, c, client.Draft{Topic: "app.x", Type: "reset", Data: []byte(`{"after":1,"earliest":9}`)})
	s := c.Stream(ctx, client.StreamOptions{After: new(uint64(0))})
	defer s.Close()
	ev, err := s.Next(ctx)
	if err != nil || ev.Seq != acks[0].Seq || ev.Type != "reset" {
		t.Fatalf("Next = %+v, %v; want the event of type reset", ev, err)
	}
}

func TestStreamStopsOnAuthErrors(t *testing.T) {
	ts := startServer(t, server.Config{})
	ctx := testContext(t)
	tests := []struct {
		name string
		c    *client.Client
		opts client.StreamOptions
		want error
	}{
		{"unknown key", client.New(ts.URL(), "not-a-key"), client.StreamOptions{After: new(uint64(0))}, client.ErrUnauthorized},
		{"unknown key from now", client.New(ts.URL(), "not-a-key"), client.StreamOptions{}, client.ErrUnauthorized},
		{"out of scope", ts.keyClient(client.KeySpec{Name: "scoped", Subscribe: []string{"app.>"}}),
			client.StreamOptions{Topics: []string{"hue.>"}, After: new(uint64(0))}, client.ErrForbidden},
		{"bad filter", ts.adminClient(), client.StreamOptions{Topics: []string{"a..b"}, After: new(uint64(0))}, client.ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retried := false
			tt.opts.OnRetry = func(error, time.Duration) { retried = true }
			s := tt.c.Stream(ctx, tt.opts)
			defer s.Close()
			_, err := s.Next(ctx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Next = %v, want %v", err, tt.want)
			}
			if retried {
				t.Error("the stream retried an error that retrying cannot cure")
			}
			if _, err := s.Next(ctx); !errors.Is(err, tt.want) {
				t.Fatalf("second Next = %v, want %v again", err, tt.want)
			}
		})
	}
}

func TestStreamClose(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)
	s := c.Stream(ctx, client.StreamOptions{After: new(uint64(0))})
	errc := make(chan error, 1)
	go func() {
		_, err := s.Next(ctx)
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, client.ErrClosed) {
			t.Fatalf("Next after Close = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a waiting Next")
	}
	s.Close() // twice is fine
}

// A position past the end of the server's log (a server wiped or replaced
// under a client that remembers its position): Poll and Next say so with
// the server's last position, and a Stream starts again after it once told.
func TestPositionAhead(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.adminClient()
	ctx := testContext(t)
	acks := publish(t, c, drafts("app.x", 0, 3)...)
	last := acks[len(acks)-1].Seq

	_, _, err := c.Poll(ctx, client.PollOptions{After: new(uint64(last + 100))})
	var pollErr *client.APIError
	if !errors.Is(err, client.ErrPositionAhead) || !errors.As(err, &pollErr) || pollErr.Last != last {
		t.Fatalf("Poll(after %d) = %v, want ErrPositionAhead with last %d", last+100, err, last)
	}
	s := c.Stream(ctx, client.StreamOptions{After: new(uint64(last + 100))})
	defer s.Close()
	_, err = s.Next(ctx)
	var apiErr *client.APIError
	if !errors.Is(err, client.ErrPositionAhead) || !errors.As(err, &apiErr) || apiErr.Last != last {
		t.Fatalf("Next = %v, want ErrPositionAhead with last %d", err, last)
	}
	s.ResumeAfter(apiErr.Last)
	more := publish(t, c, drafts("app.x", 3, 1)...)
	ev, err := s.Next(ctx)
	if err != nil || ev.Seq != more[0].Seq {
		t.Fatalf("after ResumeAfter: %+v, %v; want seq %d", ev, err, more[0].Seq)
	}
}
