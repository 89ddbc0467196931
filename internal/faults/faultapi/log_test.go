package faultapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
)

// run is what one scenario left: the log's contents, what a stream
// consumer received, and how often the clients had to retry.
type run struct {
	stored, received    []string
	retries, reconnects int
	injected            float64
}

// scenario publishes events through the native API and follows them with
// a stream, under faults or none: a publisher that retries what a 503
// refused, a consumer the Go client reconnects after each cut.
func scenario(t *testing.T, faulty bool) run {
	s := newServer(t, nil)
	if faulty {
		s.addFault(t, `{"dialect":"native","action":"status","status":503,"probability":0.5,"key":"`+s.appID+`"}`)
		s.addFault(t, `{"dialect":"native","action":"delay","delay":"2ms"}`)
		s.addFault(t, `{"dialect":"native","action":"cut_stream","after_events":4}`)
		s.addFault(t, `{"dialect":"native","action":"slow_read","rate":50000}`)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const events = 30
	var out run
	zero := uint64(0)
	st := client.New(s.url, s.admin).Stream(ctx, client.StreamOptions{
		Topics: []string{"app.>"}, After: &zero,
		OnRetry: func(error, time.Duration) { out.reconnects++ },
	})
	defer st.Close()
	pub := client.New(s.url, s.app)
	for i := range events {
		// No id: a refused publish retried would be stored twice if a
		// fault refused it after storing it.
		d := client.Draft{Topic: "app.order", Type: "placed", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
		for {
			_, err := pub.Publish(ctx, d)
			var ae *client.APIError
			if errors.As(err, &ae) && ae.Temporary() {
				out.retries++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	for range events {
		ev, err := st.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out.received = append(out.received, fmt.Sprintf("%d %s", ev.Seq, ev.Data))
	}
	evs, _, err := s.c.Log.Read(ctx, 0, nil, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		out.stored = append(out.stored, fmt.Sprintf("%d %s %s %s", e.Seq, e.Topic, e.Type, e.Data))
	}
	for _, action := range []string{"status", "delay", "reject_key", "cut_stream", "slow_read"} {
		out.injected += counter(s.c.Metrics.FaultsInjected.WithLabelValues("native", action))
	}
	return out
}

// Faults change delivery, never what is stored: the same clients leave the
// same log with faults as without, and get every event once either way.
// With no rules the hooks do nothing at all.
func TestFaultsNeverChangeTheLog(t *testing.T) {
	clean := scenario(t, false)
	faulty := scenario(t, true)
	if clean.retries != 0 || clean.reconnects != 0 || clean.injected != 0 {
		t.Fatalf("no rules, yet %d retries, %d reconnections, %v faults injected", clean.retries, clean.reconnects, clean.injected)
	}
	if faulty.retries == 0 || faulty.reconnects < 30/4 {
		t.Fatalf("the faults did not happen: %d retries, %d reconnections", faulty.retries, faulty.reconnects)
	}
	if len(clean.stored) != 30 || !slices.Equal(clean.stored, faulty.stored) {
		t.Fatalf("the log differs:\nwithout faults %q\nwith faults    %q", clean.stored, faulty.stored)
	}
	for _, r := range []run{clean, faulty} {
		for i, got := range r.received {
			if want := fmt.Sprintf(`%d {"n":%d}`, i+1, i); got != want {
				t.Fatalf("event %d received as %q, want %q", i+1, got, want)
			}
		}
	}
}
