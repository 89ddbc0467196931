package terso

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Several GETs at once on one subscription all get the same pending batch.
func TestConcurrentGetsShareOneBatch(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"dock"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil) // subscribe
	for i := 0; i < 20; i++ {
		e.append("reader-1", "heartbeatevent", heartbeat("reader-1", guid(i+1)))
	}
	var wg sync.WaitGroup
	got := make([]eventsDto, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.sdk("GET", "/3/events/5", u.AccessKey, "", &got[i])
		}()
	}
	wg.Wait()
	for i, b := range got {
		if b.BatchID != got[0].BatchID || b.Count != 5 || fmt.Sprint(b.ids(t)) != fmt.Sprint(got[0].ids(t)) {
			t.Fatalf("GET %d got batch %s %v, GET 0 got %s %v", i, b.BatchID, b.ids(t), got[0].BatchID, got[0].ids(t))
		}
	}
}

// Consumers fetching and deleting batches concurrently: every event is
// delivered, and none is delivered by a GET that started after a DELETE of
// it had completed.
func TestGetRacingDelete(t *testing.T) {
	e := setup(t, Config{})
	u := e.addUser(`{"name":"dock"}`)
	e.sdk("GET", "/3/events", u.AccessKey, "", nil)
	const total = 60
	for i := 0; i < total; i++ {
		e.append("reader-1", "heartbeatevent", heartbeat("reader-1", guid(i+1)))
	}
	type fetch struct {
		started time.Time
		ids     []string
	}
	var mu sync.Mutex
	var fetches []fetch
	deleted := map[string]time.Time{} // event id → when a DELETE of it completed
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var b eventsDto
				start := time.Now()
				if r := e.sdk("GET", "/3/events/7", u.AccessKey, "", &b); r.status != 200 {
					t.Errorf("GET: %d %s", r.status, r.body)
					return
				}
				ids := b.ids(t)
				mu.Lock()
				fetches = append(fetches, fetch{start, ids})
				mu.Unlock()
				if b.Count == 0 {
					return
				}
				if r := e.sdk("DELETE", "/3/events", u.AccessKey, `{"BatchId":"`+b.BatchID+`"}`, nil); r.status != 204 {
					t.Errorf("DELETE: %d %s", r.status, r.body)
					return
				}
				done := time.Now()
				mu.Lock()
				for _, id := range ids {
					if _, ok := deleted[id]; !ok {
						deleted[id] = done
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(deleted) != total {
		t.Fatalf("%d of %d events delivered and deleted", len(deleted), total)
	}
	for _, f := range fetches {
		for _, id := range f.ids {
			if d := deleted[id]; f.started.After(d) {
				t.Fatalf("event %s delivered by a GET started %v after its DELETE completed", id, f.started.Sub(d))
			}
		}
	}
}
