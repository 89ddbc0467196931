package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The loop is the vendor's service base: one Get per tick of its timer,
// the batch deleted if it held events; only a full batch is followed by
// the next at once. The server's answers are scripted, the ticks the
// test's.
func TestJetstreamLoop(t *testing.T) {
	counts := []int{0, jetstreamLimit, 3, 0} // the subscribing Get, a full batch, a partial one, an empty one
	tick := make(chan time.Time, 1)
	var (
		mu       sync.Mutex
		log      []string
		gets     int
		ticked   atomic.Bool // the test has sent the tick
		early    atomic.Bool // a Get came before the loop took the tick
		deleted2 = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case "GET":
			i := gets
			gets++
			log = append(log, "GET")
			if i == 3 {
				// Only the tick may bring this Get: sent, and taken.
				early.Store(!ticked.Load() || len(tick) > 0)
				w.Header().Set("Connection", "close") // which ends the loop, once it has read the answer
			}
			n := 0
			if i < len(counts) {
				n = counts[i]
			}
			fmt.Fprintf(w, `{"BatchId":"b%d","Count":%d,"Events":[]}`, i, n)
		case "DELETE":
			b, _ := io.ReadAll(r.Body)
			log = append(log, "DELETE "+string(b))
			if len(log) == 5 {
				close(deleted2)
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	base, _ := url.Parse(srv.URL)
	e := &env{cfg: &Config{PullEvery: time.Hour}, base: base}
	p, err := dialJetstream(context.Background(), e, jetstreamUser{AccessKey: "k"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	acc := newAccount([]byte("no token"), new(atomic.Uint64))
	done := make(chan error, 1)
	go func() { done <- p.loop(acc, tick) }()

	select {
	case <-deleted2:
	case err := <-done:
		t.Fatalf("loop ended: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("no second batch without a tick: a full batch must be followed at once")
	}
	ticked.Store(true)
	tick <- time.Now()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("no Get after the tick")
	}
	p.close()
	want := []string{"GET", "GET", `DELETE {"BatchId":"b1"}`, "GET", `DELETE {"BatchId":"b2"}`, "GET"}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(log, want) {
		t.Fatalf("requests %q, want %q", log, want)
	}
	if early.Load() {
		t.Fatal("asked again after a batch that was not full before the next tick")
	}
	if acc.requests != 5 || acc.batches != 2 {
		t.Fatalf("counted %d requests, %d batches; want 5, 2", acc.requests, acc.batches)
	}
}
