package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
	"github.com/herald-io/herald/internal/server"
)

// runTail starts cmd in the background and returns its output and a stop
// function that interrupts it (as SIGINT would) and returns Run's error.
func runTail(t *testing.T, cmd *TailCmd, g *Globals) (stdout, stderr *syncBuffer, stop func() error) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	cmd.IO = cmdIO{Stdout: stdout, Stderr: stderr}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- cmd.Run(ctx, g) }()
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
		}
		select {
		case err := <-errc:
			errc <- err // a second stop sees it too
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("tail did not end after the interrupt")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return stdout, stderr, stop
}

func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' })
}

func publishN(t *testing.T, c *client.Client, topic string, from, n int) []client.Ack {
	t.Helper()
	ds := make([]client.Draft, n)
	for i := range ds {
		ds[i] = client.Draft{Topic: topic, Type: "tick", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, from+i))}
	}
	acks, err := c.Publish(context.Background(), ds...)
	if err != nil {
		t.Fatal(err)
	}
	return acks
}

func TestTail(t *testing.T) {
	tests := []struct {
		name  string
		cmd   TailCmd
		check func(t *testing.T, line string, ack client.Ack, n int)
	}{
		{"pretty", TailCmd{FromStart: true, Format: "pretty"}, func(t *testing.T, line string, ack client.Ack, n int) {
			f := strings.Fields(line)
			want := []string{fmt.Sprint(ack.Seq), "app.tail", "tick", fmt.Sprintf(`{"n":%d}`, n)}
			if len(f) != 6 || strings.Join(f[2:], " ") != strings.Join(want, " ") {
				t.Errorf("line %q, want date, time and %q", line, want)
			}
			if _, err := time.ParseInLocation("2006-01-02 15:04:05.000", f[0]+" "+f[1], time.Local); err != nil {
				t.Errorf("line %q: time: %v", line, err)
			}
		}},
		{"json", TailCmd{FromStart: true, Format: "json"}, func(t *testing.T, line string, ack client.Ack, n int) {
			var ev client.Event
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if ev.Seq != ack.Seq || ev.ID != ack.ID || !ev.Time.Equal(ack.Time) || ev.Topic != "app.tail" || string(ev.Data) != fmt.Sprintf(`{"n":%d}`, n) {
				t.Errorf("line %q, want ack %+v", line, ack)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, server.Config{})
			c := ts.admin()
			acks := publishN(t, c, "app.tail", 0, 3)
			publishN(t, c, "other.x", 0, 2)
			tt.cmd.Topics = []string{"app.>"}
			stdout, _, stop := runTail(t, &tt.cmd, ts.globals())
			waitFor(t, "3 lines", func() bool { return len(lines(stdout.String())) == 3 })
			acks = append(acks, publishN(t, c, "app.tail", 3, 2)...)
			waitFor(t, "5 lines", func() bool { return len(lines(stdout.String())) >= 5 })
			if err := stop(); err != nil {
				t.Fatalf("tail ended with %v, want a clean exit", err)
			}
			got := lines(stdout.String())
			if len(got) != 5 {
				t.Fatalf("got %d lines, want 5:\n%s", len(got), stdout)
			}
			for i, line := range got {
				tt.check(t, line, acks[i], i)
			}
		})
	}
}

func TestTailNewOnly(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.admin()
	old := publishN(t, c, "app.old", 0, 3)
	// The server's read side follows its acknowledgements a moment later;
	// until it has them, "now" is before them.
	if evs, _, err := c.Poll(context.Background(), client.PollOptions{After: new(old[2].Seq - 1), Wait: 10 * time.Second}); err != nil || len(evs) == 0 {
		t.Fatalf("old events not readable: %v", err)
	}
	stdout, _, stop := runTail(t, &TailCmd{Format: "json"}, ts.globals())
	// Tail connects in the background; keep publishing until it sees one.
	var acks []client.Ack
	waitFor(t, "a new event", func() bool {
		acks = append(acks, publishN(t, c, "app.new", len(acks), 1)...)
		time.Sleep(50 * time.Millisecond)
		return len(lines(stdout.String())) > 0
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if out := stdout.String(); strings.Contains(out, "app.old") {
		t.Fatalf("tail without --after printed old events:\n%s", out)
	}
}

func TestTailAcrossRestart(t *testing.T) {
	ts := startServer(t, server.Config{})
	c := ts.admin()
	acks := publishN(t, c, "app.r", 0, 3)
	stdout, stderr, stop := runTail(t, &TailCmd{After: new(uint64(0)), Format: "json"}, ts.globals())
	waitFor(t, "3 lines", func() bool { return len(lines(stdout.String())) == 3 })
	ts.Restart()
	c = ts.admin()
	acks = append(acks, publishN(t, c, "app.r", 3, 3)...)
	waitFor(t, "6 lines", func() bool { return len(lines(stdout.String())) >= 6 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := lines(stdout.String())
	if len(got) != 6 {
		t.Fatalf("got %d lines, want 6:\n%s", len(got), stdout)
	}
	for i, line := range got {
		var ev client.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Seq != acks[i].Seq {
			t.Fatalf("line %d = %q, want seq %d", i, line, acks[i].Seq)
		}
	}
	if !strings.Contains(stderr.String(), "reconnecting") {
		t.Errorf("stderr %q does not mention the reconnection", stderr)
	}
	want := fmt.Sprintf("reconnected; resuming after %d\n", acks[2].Seq)
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q does not say %q", stderr, want)
	}
}

func TestTailExpired(t *testing.T) {
	ts := startServer(t, server.Config{RetentionBytes: 4096})
	c := ts.admin()
	for i := range 10 {
		ds := make([]client.Draft, 10)
		for j := range ds {
			ds[j] = client.Draft{Topic: "app.big", Data: fmt.Appendf(nil, `{"n":%d,"pad":"%0200d"}`, i*10+j, 0)}
		}
		if _, err := c.Publish(context.Background(), ds...); err != nil {
			t.Fatal(err)
		}
	}
	ts.Restart() // read from the log, not the old process's memory
	c = ts.admin()
	_, _, err := c.Poll(context.Background(), client.PollOptions{After: new(uint64(0))})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("retention dropped nothing: %v", err)
	}
	earliest := apiErr.Earliest

	t.Run("from start begins at the earliest", func(t *testing.T) {
		stdout, stderr, stop := runTail(t, &TailCmd{FromStart: true, Format: "json"}, ts.globals())
		waitFor(t, "a line", func() bool { return len(lines(stdout.String())) > 0 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		var ev client.Event
		if err := json.Unmarshal([]byte(lines(stdout.String())[0]), &ev); err != nil || ev.Seq != earliest {
			t.Fatalf("first line %q, want seq %d", lines(stdout.String())[0], earliest)
		}
		if !strings.Contains(stderr.String(), fmt.Sprintf("starting at %d", earliest)) {
			t.Errorf("stderr %q does not say where it started", stderr)
		}
	})
	t.Run("after an expired position fails", func(t *testing.T) {
		cmd := &TailCmd{After: new(uint64(0)), Format: "json", IO: cmdIO{Stdout: io.Discard, Stderr: io.Discard}}
		err := cmd.Run(context.Background(), ts.globals())
		want := fmt.Sprintf("--after %d", earliest-1)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Run = %v, want an error suggesting %q", err, want)
		}
	})
}

func TestTailUnauthorized(t *testing.T) {
	ts := startServer(t, server.Config{})
	g := ts.globals()
	g.Key = "not-a-key"
	cmd := &TailCmd{Format: "json", IO: cmdIO{Stdout: io.Discard, Stderr: io.Discard}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cmd.Run(ctx, g); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("Run = %v, want a 401 at once", err)
	}
}
