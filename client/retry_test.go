package client_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/herald-io/herald/client"
)

// TestStreamBackoff drives a Stream against a scripted server: failures,
// a connection that ends, a rate limit with Retry-After.
func TestStreamBackoff(t *testing.T) {
	type step struct {
		status int
		header map[string]string
		events []uint64 // SSE events to send before ending the response
		hold   bool     // keep the response open until the client leaves
	}
	script := []step{
		{status: 503},
		{status: 502},
		{status: 503},
		{status: 200, events: []uint64{7}},
		{status: 429, header: map[string]string{"Retry-After": "1"}},
		{status: 200, events: []uint64{8, 9}, hold: true},
	}
	var mu sync.Mutex
	var lastIDs []string
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if n >= len(script) {
			mu.Unlock()
			http.Error(w, "script over", http.StatusTeapot)
			return
		}
		st := script[n]
		n++
		lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID")+"/"+r.URL.Query().Get("after"))
		mu.Unlock()
		for k, v := range st.header {
			w.Header().Set(k, v)
		}
		if st.status != 200 {
			w.WriteHeader(st.status)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, seq := range st.events {
			fmt.Fprintf(w, "id: %d\nevent: t\ndata: {\"seq\":%d,\"id\":\"e%d\",\"topic\":\"app.x\",\"type\":\"t\",\"data\":null}\n\n", seq, seq, seq)
		}
		w.(http.Flusher).Flush()
		if st.hold {
			<-r.Context().Done()
		}
	}))
	defer srv.Close()

	var waits []time.Duration
	ctx := testContext(t)
	s := client.New(srv.URL, "k").Stream(ctx, client.StreamOptions{
		After:   new(uint64(6)),
		OnRetry: func(_ error, d time.Duration) { waits = append(waits, d) },
	})
	defer s.Close()
	for _, want := range []uint64{7, 8, 9} {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seq != want {
			t.Fatalf("got seq %d, want %d", ev.Seq, want)
		}
	}
	s.Close()
	ms := time.Millisecond
	// Three failures double from 100 ms; success resets to 100 ms for the
	// ended connection; the rate limit's Retry-After outweighs 200 ms.
	wantWaits := []time.Duration{100 * ms, 200 * ms, 400 * ms, 100 * ms, time.Second}
	if fmt.Sprint(waits) != fmt.Sprint(wantWaits) {
		t.Errorf("waits %v, want %v", waits, wantWaits)
	}
	mu.Lock()
	defer mu.Unlock()
	wantIDs := []string{"6/6", "6/6", "6/6", "6/6", "7/7", "7/7"}
	if fmt.Sprint(lastIDs) != fmt.Sprint(wantIDs) {
		t.Errorf("resume positions (Last-Event-ID/after) %v, want %v", lastIDs, wantIDs)
	}
}

func TestStreamNotEventStream(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintln(w, "<html>a login page</html>")
	}))
	defer srv.Close()
	ctx := testContext(t)
	s := client.New(srv.URL, "k").Stream(ctx, client.StreamOptions{After: new(uint64(0))})
	defer s.Close()
	if _, err := s.Next(ctx); err == nil {
		t.Fatal("Next accepted an HTML page as an event stream")
	}
}
