package faultapi_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
)

// The Go client's stream rides through 429s and 503s: it waits at least
// the Retry-After each answer names before it tries again, and once they
// are gone it reads every event once, across a cut too. (Publish and Poll
// do not retry: they return an APIError whose Temporary and RetryAfter
// tell the caller.)
func TestGoClientStreamRidesThrough429And503(t *testing.T) {
	s := newServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub := client.New(s.url, s.admin) // the rules are for the app's key alone
	for i := range 3 {
		if _, err := pub.Publish(ctx, client.Draft{Topic: "app.x", ID: fmt.Sprintf("e%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	s.addFault(t, `{"action":"cut_stream","after_events":2}`)
	refusal := s.addFault(t, `{"action":"status","status":429,"retry_after":"1s","key":"`+s.appID+`"}`)
	var seen []string
	retried := make(chan int, 16) // the statuses the stream was refused with
	zero := uint64(0)
	st := client.New(s.url, s.app).Stream(ctx, client.StreamOptions{
		Topics: []string{"app.>"}, After: &zero,
		OnRetry: func(err error, wait time.Duration) {
			var ae *client.APIError
			if errors.As(err, &ae) {
				seen = append(seen, fmt.Sprintf("%d wait>=retry-after:%v", ae.Status, wait >= ae.RetryAfter && ae.RetryAfter > 0))
				retried <- ae.Status
			}
		},
	})
	defer st.Close()
	go func() {
		// 429 first, then 503, then none: each swap once the client has
		// been refused by the rule before (the cut stays).
		for status := range retried {
			switch status {
			case 429:
				if refusal != "" {
					s.call(t, "DELETE", "/v1/faults/"+refusal, bearer(s.admin), "")
					refusal = s.addFault(t, `{"action":"status","status":503,"retry_after":"1s","key":"`+s.appID+`"}`)
				}
			case 503:
				s.call(t, "DELETE", "/v1/faults/"+refusal, bearer(s.admin), "")
				return
			}
		}
	}()
	for i := range 3 {
		ev, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("event %d: %v (retries %v)", i+1, err, seen)
		}
		if ev.Seq != uint64(i+1) || ev.ID != fmt.Sprintf("e%d", i) {
			t.Fatalf("event %d is seq %d id %s", i+1, ev.Seq, ev.ID)
		}
	}
	close(retried)
	if len(seen) < 2 || seen[0] != "429 wait>=retry-after:true" || seen[len(seen)-1] != "503 wait>=retry-after:true" {
		t.Fatalf("retries %v, want a 429 then a 503, each waited for", seen)
	}
}
