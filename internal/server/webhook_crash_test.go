package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// A kill -9 of herald while it delivers to a webhook loses nothing: the
// restarted process (once the dead one's lease has run out) goes on from
// the stored position, and every event arrives, under one webhook-id
// however often it is sent.
func TestWebhookCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	const events = 400
	var (
		mu  sync.Mutex
		ids = map[uint64]string{} // seq → webhook-id
		n   int
	)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct{ Seq uint64 }
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Errorf("body %q: %v", b, err)
		}
		time.Sleep(2 * time.Millisecond) // deliveries are under way when the kill comes
		mu.Lock()
		defer mu.Unlock()
		if id, ok := ids[ev.Seq]; ok && id != r.Header.Get("webhook-id") {
			t.Errorf("event %d sent as %s and as %s", ev.Seq, id, r.Header.Get("webhook-id"))
		}
		ids[ev.Seq] = r.Header.Get("webhook-id")
		n++
	}))
	defer rc.Close()
	delivered := func() (distinct, requests int) {
		mu.Lock()
		defer mu.Unlock()
		return len(ids), n
	}

	c := startChild(t, "--webhooks-allow-private")
	if st := c.do("POST", "/v1/webhooks", c.admin(), `{"url":"`+rc.URL+`","topics":["crash.>"],"ordered":true}`, nil); st != 201 {
		t.Fatalf("POST /v1/webhooks: %d", st)
	}
	var body strings.Builder
	body.WriteByte('[')
	for i := range events {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"topic":"crash.w","type":"t","data":{"i":%d}}`, i)
	}
	body.WriteByte(']')
	if st := c.do("POST", "/v1/events", c.admin(), body.String(), nil); st != 201 {
		t.Fatalf("publish: %d", st)
	}
	eventually(t, time.Minute, func() string {
		if d, _ := delivered(); d < events/4 {
			return fmt.Sprintf("%d of %d delivered before the kill", d, events)
		}
		return ""
	})
	c.kill()
	before, _ := delivered()
	c.start()
	eventually(t, 2*time.Minute, func() string {
		if d, _ := delivered(); d < events {
			return fmt.Sprintf("%d of %d delivered after the restart (%d before it)", d, events, before)
		}
		return ""
	})
	d, reqs := delivered()
	t.Logf("%d events, %d requests (%d delivered before the kill)", d, reqs, before)
}
