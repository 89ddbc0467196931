package route_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/eventlog"
	"github.com/herald-io/herald/internal/route"
)

// A route whose target refuses stays on the event, says why, and acts on
// it once the target takes it — it never skips.
func TestFailingRouteDoesNotSkip(t *testing.T) {
	e := start(t)
	_, userID := e.zulipUser("bell@example.org")
	e.must(e.admin("POST", "/v1/routes", `{"name":"garden","topics":["app.door"],
		"action":{"kind":"zulip.message","as":"`+userID+`","params":"{'to': 'garden', 'topic': 'gate', 'content': 'knock ' + string(data.n)}"}}`), 201)
	for n := 1; n <= 2; n++ {
		e.must(e.admin("POST", "/v1/events", `{"topic":"app.door","data":{"n":`+itoa(uint64(n))+`}}`), 201)
	}
	var st map[string]any
	waitFor(t, "the route to report its failure", func() bool {
		st = e.must(e.admin("GET", "/v1/routes/garden", ""), 200).json["state"].(map[string]any)
		return st["failing"] == true
	})
	if msg, _ := st["last_error"].(string); !strings.Contains(msg, "garden") || st["done"] != 0.0 {
		t.Fatalf("state of a failing route: %v", st)
	}
	if n := len(e.events("zulip.*.message", 0)); n != 0 {
		t.Fatalf("%d messages while the stream is missing", n)
	}
	e.must(e.admin("POST", "/v1/zulip/streams", `{"name":"garden"}`), 201)
	var msgs []map[string]any
	waitFor(t, "both knocks, in order", func() bool {
		msgs = e.events("zulip.*.message", 0)
		return len(msgs) == 2
	})
	for i, m := range msgs {
		if c := m["data"].(map[string]any)["message"].(map[string]any)["content"]; c != "knock "+itoa(uint64(i+1)) {
			t.Fatalf("message %d: %v", i, c)
		}
	}
	waitFor(t, "the state after recovery", func() bool {
		st = e.must(e.admin("GET", "/v1/routes/garden", ""), 200).json["state"].(map[string]any)
		return st["done"] == 2.0
	})
	if st["failing"] != false {
		t.Fatalf("state after recovery: %v", st)
	}
}

// A route that acted but crashed before saving its progress acts again on
// the same event after a restart; the action's derived id makes the log
// keep it once.
func TestRepeatedActionIsStoredOnce(t *testing.T) {
	e := start(t)
	e.must(e.admin("POST", "/v1/routes", `{"name":"echo","topics":["app.in"],
		"action":{"kind":"native.publish","params":"{'topic': 'app.out', 'data': data}"}}`), 201)
	seq := e.publish(`{"topic":"app.in","data":{"n":1}}`)
	waitFor(t, "the echo", func() bool { return len(e.events("app.out", 0)) == 1 })

	// What a crash between the action and the save leaves: the progress
	// from before the event.
	e.Stop()
	ctx := context.Background()
	l, err := eventlog.Open(ctx, eventlog.Config{Dir: filepath.Join(e.Cfg.DataDir, "engine")})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := l.KV(ctx, route.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	ent, err := kv.Get(ctx, "state.echo")
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	_ = json.Unmarshal(ent.Value, &st)
	if st["position"] != float64(seq) || st["done"] != 1.0 {
		t.Fatalf("saved state %v, want position %d", st, seq)
	}
	st["position"], st["done"] = seq-1, 0
	raw, _ := json.Marshal(st)
	if _, err := kv.Put(ctx, "state.echo", raw); err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	e.Start()

	waitFor(t, "the route to act again", func() bool {
		st := e.must(e.admin("GET", "/v1/routes/echo", ""), 200).json["state"].(map[string]any)
		return st["done"] == 1.0 && st["position"] == float64(seq)
	})
	if evs := e.events("app.out", 0); len(evs) != 1 {
		t.Fatalf("echoes after the repeat: %v", evs)
	}
}
