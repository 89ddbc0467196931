package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The dialects keep their state in the engine, so what a client starts on
// one node it finishes on the other: a Zulip queue registered on A is
// polled on B, a Jetstream batch fetched on A is deleted on B, and a Hue
// light changed on A shows in B's event stream.
func TestDialectsAcrossNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-server cluster")
	}
	c := startCluster(t)
	a, b := startNode(t, c.URLs()), startNode(t, c.URLs())
	admin := http.Header{"Authorization": {"Bearer " + a.key}, "Content-Type": {"application/json"}}

	t.Run("zulip queue", func(t *testing.T) {
		var u struct {
			APIKey string `json:"api_key"`
		}
		if st := a.send(t, "POST", "/v1/zulip/users", admin, `{"email":"bot@example.com","full_name":"Bot"}`, &u); st != 201 {
			t.Fatalf("zulip user on A: %d", st)
		}
		a.send(t, "POST", "/v1/zulip/streams", admin, `{"name":"general"}`, nil)
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth("bot@example.com", u.APIKey)
		form := http.Header{"Authorization": req.Header["Authorization"], "Content-Type": {"application/x-www-form-urlencoded"}}
		var reg struct {
			QueueID string `json:"queue_id"`
		}
		if st := a.send(t, "POST", "/api/v1/register", form, url.Values{"event_types": {`["message"]`}}.Encode(), &reg); st != 200 {
			t.Fatalf("register on A: %d", st)
		}
		msg := url.Values{"type": {"stream"}, "to": {"general"}, "topic": {"t"}, "content": {"hello from A"}}
		if st := a.send(t, "POST", "/api/v1/messages", form, msg.Encode(), nil); st != 200 {
			t.Fatalf("send on A: %d", st)
		}
		var evs struct {
			Events []struct {
				ID      int64
				Type    string
				Message struct{ Content string }
			}
		}
		q := url.Values{"queue_id": {reg.QueueID}, "last_event_id": {"-1"}}
		if st := b.send(t, "GET", "/api/v1/events?"+q.Encode(), form, "", &evs); st != 200 ||
			len(evs.Events) != 1 || !strings.Contains(evs.Events[0].Message.Content, "hello from A") {
			t.Fatalf("poll on B: %d %+v", st, evs)
		}
		// B's poll acknowledged on B; A then sees the queue empty.
		q.Set("last_event_id", fmt.Sprint(evs.Events[0].ID))
		q.Set("dont_block", "true")
		evs.Events = nil
		if st := a.send(t, "GET", "/api/v1/events?"+q.Encode(), form, "", &evs); st != 200 || len(evs.Events) != 0 {
			t.Fatalf("poll on A after B's ack: %d %+v", st, evs)
		}
	})

	t.Run("jetstream batch", func(t *testing.T) {
		var u struct {
			AccessKey string `json:"access_key"`
		}
		if st := a.send(t, "POST", "/v1/jetstream/users", admin, `{"name":"dock"}`, &u); st != 201 {
			t.Fatalf("jetstream user on A: %d", st)
		}
		access := http.Header{"AccessKey": {u.AccessKey}}
		a.send(t, "GET", "/3/events", access, "", nil) // the first GET subscribes
		if st := a.send(t, "POST", "/v1/jetstream/simulate", admin, `{"device":"reader-1","heartbeat":true}`, nil); st >= 300 {
			t.Fatalf("simulate: %d", st)
		}
		var batch struct {
			BatchID string `json:"BatchId"`
			Count   int
		}
		if st := a.send(t, "GET", "/3/events", access, "", &batch); st != 200 || batch.Count != 1 {
			t.Fatalf("fetch on A: %d %+v", st, batch)
		}
		del := http.Header{"AccessKey": {u.AccessKey}, "Content-Type": {"application/json"}}
		if st := b.send(t, "DELETE", "/3/events", del, fmt.Sprintf(`{"BatchId":%q}`, batch.BatchID), nil); st != 204 {
			t.Fatalf("delete on B: %d", st)
		}
		batch.Count = -1
		if st := a.send(t, "GET", "/3/events", access, "", &batch); st != 200 || batch.Count != 0 {
			t.Fatalf("fetch on A after B's delete: %d %+v", st, batch)
		}
	})

	t.Run("hue update", func(t *testing.T) {
		var dev struct {
			Data []struct{ RID, RType string }
		}
		if st := a.send(t, "POST", "/v1/hue/devices", admin, `{"product":"color_lamp","name":"Desk"}`, &dev); st != 201 && st != 200 {
			t.Fatalf("add lamp on A: %d", st)
		}
		light := ""
		for _, r := range dev.Data {
			if r.RType == "light" {
				light = r.RID
			}
		}
		if light == "" {
			t.Fatalf("no light in %+v", dev)
		}
		// B's event stream, opened before the change.
		req, _ := http.NewRequest("GET", b.URL+"/eventstream/clip/v2", nil)
		req.Header.Set("hue-application-key", b.key)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("event stream on B: %v %v", resp, err)
		}
		defer resp.Body.Close()
		hue := http.Header{"hue-application-key": {a.key}, "Content-Type": {"application/json"}}
		if st := a.send(t, "PUT", "/clip/v2/resource/light/"+light, hue, `{"dimming":{"brightness":42}}`, nil); st != 200 {
			t.Fatalf("PUT on A: %d", st)
		}
		lines := bufio.NewScanner(resp.Body)
		lines.Buffer(nil, 1<<20)
		deadline := time.AfterFunc(20*time.Second, func() { resp.Body.Close() })
		defer deadline.Stop()
		for lines.Scan() {
			data, ok := strings.CutPrefix(lines.Text(), "data: ")
			if !ok {
				continue
			}
			var evs []struct {
				Type string
				Data []struct {
					ID      string
					Dimming *struct{ Brightness float64 }
				}
			}
			if err := json.Unmarshal([]byte(data), &evs); err != nil {
				t.Fatalf("data line %q: %v", data, err)
			}
			for _, e := range evs {
				for _, d := range e.Data {
					if e.Type == "update" && d.ID == light && d.Dimming != nil && d.Dimming.Brightness == 42 {
						return // B's stream carries A's change
					}
				}
			}
		}
		t.Fatal("B's event stream ended without A's light update")
	})
}
