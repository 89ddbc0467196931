package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Events queued for a Zulip queue and a Jetstream subscription survive
// kill -9 of the server: queues, positions and users live in the engine.
func TestDialectQueuesSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	bin := buildHerald(t)
	data, port := t.TempDir(), freePort(t)
	base := "http://" + port
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--data", data, "--http", port, "--https", "", "--log-level", "warn")
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitHealthy(t, base)
		return cmd
	}
	call := func(method, path string, hdr http.Header, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %d %q", method, path, resp.StatusCode, b)
			}
		}
		return resp.StatusCode
	}

	cmd := start()
	key := strings.TrimSpace(readFile(t, filepath.Join(data, "admin.key")))
	admin := http.Header{"Authorization": {"Bearer " + key}, "Content-Type": {"application/json"}}

	// Zulip: a user, a stream, a queue, two messages queued.
	var zu struct {
		APIKey string `json:"api_key"`
	}
	if st := call("POST", "/v1/zulip/users", admin, `{"email":"bot@example.com","full_name":"Bot"}`, &zu); st != 201 {
		t.Fatalf("zulip user: %d", st)
	}
	call("POST", "/v1/zulip/streams", admin, `{"name":"general"}`, nil)
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth("bot@example.com", zu.APIKey)
	form := http.Header{"Authorization": req.Header["Authorization"], "Content-Type": {"application/x-www-form-urlencoded"}}
	var reg struct {
		QueueID string `json:"queue_id"`
	}
	if st := call("POST", "/api/v1/register", form, url.Values{"event_types": {`["message"]`}}.Encode(), &reg); st != 200 || reg.QueueID == "" {
		t.Fatalf("register: %d %+v", st, reg)
	}
	for _, content := range []string{"first", "second"} {
		msg := url.Values{"type": {"stream"}, "to": {"general"}, "topic": {"t"}, "content": {content}}
		if st := call("POST", "/api/v1/messages", form, msg.Encode(), nil); st != 200 {
			t.Fatalf("send: %d", st)
		}
	}

	// Jetstream: a user subscribes, then two device events are queued.
	var ju struct {
		AccessKey string `json:"access_key"`
	}
	if st := call("POST", "/v1/jetstream/users", admin, `{"name":"dock"}`, &ju); st != 201 {
		t.Fatalf("jetstream user: %d", st)
	}
	access := http.Header{"AccessKey": {ju.AccessKey}}
	call("GET", "/3/events", access, "", nil) // the first GET subscribes
	for i := 0; i < 2; i++ {
		if st := call("POST", "/v1/jetstream/simulate", admin, `{"device":"reader-1","heartbeat":true}`, nil); st >= 300 {
			t.Fatalf("simulate: %d", st)
		}
	}

	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	cmd = start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()

	var evs struct {
		Result string
		Events []struct {
			Type    string
			Message struct{ Content string }
		}
	}
	q := url.Values{"queue_id": {reg.QueueID}, "last_event_id": {"-1"}, "dont_block": {"true"}}
	if st := call("GET", "/api/v1/events?"+q.Encode(), form, "", &evs); st != 200 || len(evs.Events) != 2 ||
		evs.Events[0].Message.Content != "first" || evs.Events[1].Message.Content != "second" {
		t.Fatalf("zulip queue after kill -9: %d %+v", st, evs)
	}
	var batch struct {
		Count  int
		Events []struct{ Type string }
	}
	if st := call("GET", "/3/events", access, "", &batch); st != 200 || batch.Count != 2 || batch.Events[0].Type != "HeartbeatEvent" {
		t.Fatalf("jetstream subscription after kill -9: %d %+v", st, batch)
	}
}
