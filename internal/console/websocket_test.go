//go:build unix

package console_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// TestBrowserWebSocket opens herald's native WebSocket from a real
// browser's own WebSocket client: the handshake is accepted, each event
// arrives as one text message of the event's JSON, and a close from the
// page completes the closing handshake cleanly.
func TestBrowserWebSocket(t *testing.T) {
	b := startBrowser(t)
	srv := servertest.Start(t, server.Config{})
	api := &apiClient{t: t, base: srv.URL(), key: srv.Admin}
	b.navigate(srv.URL() + "/console/")
	b.run(fmt.Sprintf(`window.ws = { got: [], opened: false, closed: null };
		const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + '/v1/ws?topics=app.>&access_token=' + %q);
		ws.onopen = () => { window.ws.opened = true; };
		ws.onmessage = (m) => window.ws.got.push(m.data);
		ws.onclose = (e) => { window.ws.closed = { code: e.code, clean: e.wasClean }; };
		window.ws.socket = ws;`, srv.Admin))
	state := `JSON.stringify(window.ws)`
	b.waitFor("the WebSocket to open", `window.ws.opened`, state)

	seqs := []uint64{
		api.publish(`{"topic":"app.door","type":"opened","data":{"n":1}}`),
		api.publish(`{"topic":"other.x","type":"skipped","data":{}}`),
		api.publish(`{"topic":"app.door","type":"closed","data":{"n":2}}`),
	}
	b.waitFor("two messages", `window.ws.got.length >= 2`, state)
	var got []string
	if err := b.eval(`window.ws.got`, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d messages, want the 2 on app.>: %q", len(got), got)
	}
	for i, want := range []struct {
		seq  uint64
		typ  string
		data string
	}{{seqs[0], "opened", `{"n":1}`}, {seqs[2], "closed", `{"n":2}`}} {
		var e event
		if err := json.Unmarshal([]byte(got[i]), &e); err != nil {
			t.Fatalf("message %d is not an event: %q", i, got[i])
		}
		if e.Seq != want.seq || e.Topic != "app.door" || e.Type != want.typ || string(e.Data) != want.data {
			t.Errorf("message %d: %q, want seq %d type %s data %s", i, got[i], want.seq, want.typ, want.data)
		}
	}

	b.run(`window.ws.socket.close(1000, 'done')`)
	b.waitFor("the close", `window.ws.closed`, state)
	var closed struct {
		Code  int
		Clean bool
	}
	if err := b.eval(`window.ws.closed`, &closed); err != nil {
		t.Fatal(err)
	}
	if closed.Code != 1000 || !closed.Clean {
		t.Fatalf("close: code %d clean %v, want 1000 after a clean closing handshake", closed.Code, closed.Clean)
	}
	if p := b.takeProblems(); len(p) > 0 {
		t.Fatalf("page problems: %q", p)
	}
}
