package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/connector"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// Connectors between two heralds: the upstream speaks the vendor's wire
// (herald serves it), the downstream follows it with a connector.

// hop is one herald of a connector test.
type hop struct {
	t *testing.T
	*servertest.Server
}

func startHop(t *testing.T) *hop {
	return &hop{t: t, Server: servertest.Start(t, server.Config{ConnectorPoll: 50 * time.Millisecond})}
}

// admin calls an admin endpoint; the status must be 2xx.
func (h *hop) admin(method, path, body string, out any) {
	h.t.Helper()
	st, _, b := request(h.t, nil, method, h.URL()+path, http.Header{"Authorization": {"Bearer " + h.Admin}, "Content-Type": {"application/json"}}, body, out)
	if st >= 300 {
		h.t.Fatalf("%s %s: %d %s", method, path, st, b)
	}
}

// connector reads one connector's view.
func (h *hop) connector(name string) connector.View {
	h.t.Helper()
	var v connector.View
	h.admin("GET", "/v1/connectors/"+name, "", &v)
	return v
}

// jetstreamUser makes a Jetstream user and subscribes it (the first Get
// Events), returning its access key.
func (h *hop) jetstreamUser(name string) string {
	h.t.Helper()
	var u struct {
		AccessKey string `json:"access_key"`
	}
	h.admin("POST", "/v1/jetstream/users", `{"name":"`+name+`"}`, &u)
	h.jetstreamGet(u.AccessKey)
	return u.AccessKey
}

type jsBatch struct {
	BatchID string            `json:"BatchId"`
	Events  []json.RawMessage `json:"Events"`
}

func (h *hop) jetstreamGet(accessKey string) jsBatch {
	h.t.Helper()
	var b jsBatch
	if st, _, body := request(h.t, nil, "GET", h.URL()+"/3/events/512", http.Header{"AccessKey": {accessKey}}, "", &b); st != 200 {
		h.t.Fatalf("GET /3/events: %d %s", st, body)
	}
	return b
}

// jetstreamTake reads and deletes batches until want events came, and
// returns them as served.
func (h *hop) jetstreamTake(accessKey string, want int) []string {
	h.t.Helper()
	var got []string
	eventually(h.t, 30*time.Second, func() string {
		b := h.jetstreamGet(accessKey)
		for _, e := range b.Events {
			got = append(got, string(e))
		}
		if len(b.Events) > 0 {
			st, _, body := request(h.t, nil, "DELETE", h.URL()+"/3/events", http.Header{"AccessKey": {accessKey}, "Content-Type": {"application/json"}}, `{"BatchId":"`+b.BatchID+`"}`, nil)
			if st != 204 {
				h.t.Fatalf("DELETE: %d %s", st, body)
			}
		}
		if len(got) < want {
			return fmt.Sprintf("%d of %d events", len(got), want)
		}
		return ""
	})
	return got
}

// simulate makes rounds of device events upstream and returns their ids.
func (h *hop) simulate(rounds int) []string {
	h.t.Helper()
	var ids []string
	for i := range rounds {
		var out struct {
			Events []struct {
				EventID string `json:"event_id"`
			} `json:"events"`
		}
		h.admin("POST", "/v1/jetstream/simulate", fmt.Sprintf(`{"device":"cab-%d","heartbeat":true,"sensors":["temp"]}`, i%3), &out)
		for _, e := range out.Events {
			ids = append(ids, e.EventID)
		}
	}
	return ids
}

func eventIDs(t *testing.T, events []string) []string {
	t.Helper()
	ids := make([]string, len(events))
	for i, e := range events {
		var h struct{ EventId string }
		if err := json.Unmarshal([]byte(e), &h); err != nil {
			t.Fatal(err)
		}
		ids[i] = h.EventId
	}
	return ids
}

// jetstreamPair is an upstream with a connector's user and a witness user
// (who sees the upstream's wire), and a downstream following it.
func jetstreamPair(t *testing.T) (up, down *hop, witness string) {
	up, down = startHop(t), startHop(t)
	key := up.jetstreamUser("connector")
	witness = up.jetstreamUser("witness")
	down.admin("POST", "/v1/connectors", `{"name":"rfid","kind":"jetstream","url":"`+up.URL()+`","key":"`+key+`"}`, nil)
	eventually(t, 30*time.Second, func() string {
		if v := down.connector("rfid"); !v.State.Connected {
			return fmt.Sprintf("not connected: %+v", v.State)
		}
		return ""
	})
	return up, down, witness
}

// Events made upstream reach each of two local Jetstream users downstream,
// in order, once, byte for byte as the upstream serves them.
func TestJetstreamConnector(t *testing.T) {
	up, down, witness := jetstreamPair(t)
	alice, bob := down.jetstreamUser("alice"), down.jetstreamUser("bob")
	ids := up.simulate(20)
	upstream := up.jetstreamTake(witness, len(ids))
	a, b := down.jetstreamTake(alice, len(ids)), down.jetstreamTake(bob, len(ids))
	if !slices.Equal(eventIDs(t, upstream), ids) {
		t.Fatalf("the upstream's own order differs from the simulator's")
	}
	if !slices.Equal(a, upstream) || !slices.Equal(b, upstream) {
		t.Fatalf("downstream users saw\n%v\n%v\nupstream served\n%v", a, b, upstream)
	}
	var v connector.View
	eventually(t, 10*time.Second, func() string {
		v = down.connector("rfid")
		if v.State.Events != uint64(len(ids)) {
			return fmt.Sprintf("state counts %d events, want %d", v.State.Events, len(ids))
		}
		return ""
	})
	if v.Node == "" || v.State.LastEvent == nil || !strings.Contains(v.Position, `"batch"`) {
		t.Fatalf("view %+v", v)
	}
}

// The upstream stopped and started again mid-stream, and the downstream
// restarted: every event arrives once, in order; the downstream resumes
// from the upstream subscription and its stored position.
func TestJetstreamConnectorSurvivesRestarts(t *testing.T) {
	up, down, _ := jetstreamPair(t)
	alice := down.jetstreamUser("alice")
	ids := up.simulate(5)
	up.Stop()
	eventually(t, 30*time.Second, func() string {
		if v := down.connector("rfid"); v.State.Connected || v.State.LastError == "" {
			return fmt.Sprintf("the connector did not notice: %+v", v.State)
		}
		return ""
	})
	up.Start()
	ids = append(ids, up.simulate(5)...)
	down.Restart()
	ids = append(ids, up.simulate(5)...) // taken by the restarted downstream
	got := eventIDs(t, down.jetstreamTake(alice, len(ids)))
	time.Sleep(300 * time.Millisecond) // several polls: a duplicate would come now
	got = append(got, eventIDs(t, down.jetstreamTake(alice, 0))...)
	if !slices.Equal(got, ids) {
		t.Fatalf("downstream saw %d events %v, want %d %v", len(got), got, len(ids), ids)
	}
	if v := down.connector("rfid"); v.State.Reconnects == 0 {
		t.Fatalf("no reconnect counted: %+v", v.State)
	}
}

// An upstream that refuses the key stops the connector, which says why.
func TestConnectorRefused(t *testing.T) {
	up, down := startHop(t), startHop(t)
	kinds := []string{"jetstream", "plex", "zulip"}
	for _, kind := range kinds {
		down.admin("POST", "/v1/connectors", `{"name":"`+kind+`","kind":"`+kind+`","url":"`+up.URL()+`","email":"bot@example.com","key":"00000000-0000-4000-8000-000000000000"}`, nil)
	}
	eventually(t, 30*time.Second, func() string {
		for _, kind := range kinds {
			if v := down.connector(kind); !v.State.Stopped || !strings.Contains(v.State.LastError, "401") {
				return fmt.Sprintf("%s not stopped: %+v", kind, v.State)
			}
		}
		return ""
	})
}
