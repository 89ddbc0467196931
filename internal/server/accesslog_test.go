package server_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/herald-io/herald/internal/logtest"
	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// access waits for the access-log line of the request with id (it is
// written once the handler has returned, which the client may not wait
// for).
func access(t *testing.T, logs *logtest.Buffer, id string) map[string]any {
	t.Helper()
	return logs.Wait(t, "request", func(m map[string]any) bool { return m["request_id"] == id })
}

func startLogged(t *testing.T, accessLog bool) (*servertest.Server, *logtest.Buffer) {
	logs, logger := logtest.New()
	s := servertest.Start(t, server.Config{AccessLog: accessLog, Logger: logger})
	return s, logs
}

// keyID is the id part of a herald token.
func keyID(token string) string { return strings.Split(token, "_")[1] }

// One line per request, under the id the X-Request-Id header shows, with
// what an operator looks for; never a credential from the query string or
// a path.
func TestAccessLogLine(t *testing.T) {
	s, logs := startLogged(t, true)
	code, hdr, body := request(t, nil, "GET", s.URL()+"/v1/cluster?note=x", http.Header{"Authorization": {"Bearer " + s.Admin}}, "", nil)
	id := hdr.Get("X-Request-Id")
	if code != 200 || id == "" {
		t.Fatalf("GET /v1/cluster: %d, X-Request-Id %q", code, id)
	}
	line := access(t, logs, id)
	want := map[string]any{"level": "INFO", "method": "GET", "path": "/v1/cluster", "status": 200.0,
		"bytes": float64(len(body)), "key": keyID(s.Admin), "dialect": "admin"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if r, _ := line["remote"].(string); !strings.HasPrefix(r, "127.0.0.1:") {
		t.Errorf("remote = %v, want the client's address", line["remote"])
	}
	if _, ok := line["duration"].(float64); !ok {
		t.Errorf("no duration in %v", line)
	}

	// A failed request: its status, no key.
	_, hdr, _ = request(t, nil, "GET", s.URL()+"/v1/events?topics=app.>&access_token=hk_0123456789abcdef_SecretPartSecretPartSecretPart00", nil, "", nil)
	line = access(t, logs, hdr.Get("X-Request-Id"))
	if line["status"] != 400.0 && line["status"] != 401.0 || line["path"] != "/v1/events" {
		t.Errorf("refused request logged as %v", line)
	}
	// Hue's public config has the app key in its path.
	_, hdr, _ = request(t, nil, "GET", s.URL()+"/api/AppKeyInThePath/config", nil, "", nil)
	line = access(t, logs, hdr.Get("X-Request-Id"))
	if line["path"] != "/api/REDACTED/config" || line["status"] != 200.0 {
		t.Errorf("Hue public config logged as %v", line)
	}
	for _, secret := range []string{"SecretPart", "AppKeyInThePath", "note=x", strings.Split(s.Admin, "_")[2]} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}

// A stream's line is written when it ends, with how long it lasted and
// what it was sent, although net/http handed its connection over long
// before.
func TestAccessLogLineOfAStream(t *testing.T) {
	s, logs := startLogged(t, true)
	resp, err := http.Get(s.URL() + "/v1/stream?topics=app.>&access_token=" + s.Admin)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("GET /v1/stream: %s, X-Request-Id %q", resp.Status, id)
	}
	request(t, nil, "POST", s.URL()+"/v1/events", http.Header{"Authorization": {"Bearer " + s.Admin}},
		`{"topic":"app.x","type":"t","data":{"n":1}}`, nil)
	br := bufio.NewReader(resp.Body)
	got := 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before the event: %v", err)
		}
		got += len(l)
		if strings.HasPrefix(l, "data:") {
			break
		}
	}
	if n := len(logs.Records(t, "request")); n != 1 { // the publish only: the stream is still open
		t.Fatalf("%d lines while the stream is open, want 1 (the publish):\n%s", n, logs.String())
	}
	s.Stop() // ends the stream
	line := access(t, logs, id)
	if line["path"] != "/v1/stream" || line["status"] != 200.0 || line["key"] != keyID(s.Admin) || line["dialect"] != "native" {
		t.Errorf("stream logged as %v", line)
	}
	if b, _ := line["bytes"].(float64); int(b) < got {
		t.Errorf("bytes = %v, want at least the %d the client read", line["bytes"], got)
	}
	if strings.Contains(logs.String(), strings.Split(s.Admin, "_")[2]) {
		t.Error("the log holds the access_token")
	}
}

// --access-log=false writes no lines (the header is still set); it can be
// turned on while serving.
func TestAccessLogOff(t *testing.T) {
	s, logs := startLogged(t, false)
	_, hdr, _ := request(t, nil, "GET", s.URL()+"/healthz", nil, "", nil)
	if hdr.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id with the access log off")
	}
	s.Srv.SetAccessLog(true)
	_, hdr, _ = request(t, nil, "GET", s.URL()+"/healthz", nil, "", nil)
	access(t, logs, hdr.Get("X-Request-Id"))
	if n := len(logs.Records(t, "request")); n != 1 {
		t.Fatalf("%d lines, want 1 (the request after SetAccessLog(true))", n)
	}
}

// A WebSocket's 101 carries the request id, and its line is written when
// it closes, with status 101.
func TestAccessLogLineOfAWebSocket(t *testing.T) {
	s, logs := startLogged(t, true)
	ctx := t.Context()
	ws, resp, err := websocket.Dial(ctx, "ws://"+s.Cfg.HTTPAddr+"/v1/ws?topics=app.>&access_token="+s.Admin, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id on the 101")
	}
	ws.Close(websocket.StatusNormalClosure, "")
	line := access(t, logs, id)
	if line["status"] != 101.0 || line["path"] != "/v1/ws" || line["key"] != keyID(s.Admin) {
		t.Errorf("WebSocket logged as %v", line)
	}
}
