package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// The vendors' Hue clients, unmodified, on a herald in front of another (a
// hue connector): the npm eventsource client gets a press made upstream,
// and openhue-go sees the upstream's devices and bridge home, and the light
// it changes through the downstream is the upstream's.
func TestHueConnectorRealClients(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node and openhue-go")
	}
	dir, _ := filepath.Abs("../../interop/js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("the real clients are not installed: run `make deps` (npm ci in interop/js): %v", err)
	}
	down := &hop{t: t, Server: servertest.Start(t, server.Config{HTTPSAddr: "127.0.0.1:0"})}
	p := startHuePair(t, down)
	key := down.huePair()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "hue.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HERALD_URL="+down.URL(), "HUE_KEY="+key, "HUE_BUTTON="+p.button,
		"PRESS_URL="+p.up.URL(), "PRESS_ADMIN_KEY="+p.up.Admin)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `"ok":true`) {
		t.Fatalf("hue.mjs: %v\n%s", err, out)
	}

	cmd = exec.CommandContext(ctx, "go", "run", ".")
	cmd.Dir, _ = filepath.Abs("../../interop/go/openhue")
	cmd.Env = append(os.Environ(), "HUE_BRIDGE="+strings.TrimPrefix(down.Srv.TLSURL, "https://"), "HUE_KEY="+key)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"ok":true`) {
		t.Fatalf("openhue-go: %v\n%s", err, out)
	}
	var res struct {
		Light      string `json:"light"`
		BridgeHome string `json:"bridge_home"`
	}
	json.Unmarshal(out[strings.LastIndex(string(out), "{"):], &res)
	if res.Light != p.light {
		t.Fatalf("openhue-go changed light %q, the upstream's is %q", res.Light, p.light)
	}
	if b := p.up.hueBrightness(p.upKey, p.light); b != 50 {
		t.Fatalf("upstream brightness after openhue-go's PUT: %v", b)
	}
	if _, home := p.up.hueCall(p.upKey, "GET", "/clip/v2/resource/bridge_home", ""); len(home) != 1 || home[0]["id"] != res.BridgeHome {
		t.Fatalf("openhue-go saw bridge home %q, the upstream's is %v", res.BridgeHome, home)
	}
}

// The npm eventsource client on a downstream's Hue event stream while the
// downstream restarts and presses go on upstream: it reconnects with
// Last-Event-ID and gets every event the downstream stored after it first
// connected, once, in order — the mirror's catch-up after the restart too.
func TestHueConnectorEventSourceResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node")
	}
	dir, _ := filepath.Abs("../../interop/js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("the real clients are not installed: run `make deps` (npm ci in interop/js): %v", err)
	}
	p := startHuePair(t, nil)
	up, down := p.up, p.down
	key := down.huePair()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "hue-resume.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HERALD_URL="+down.URL(), "HUE_KEY="+key, "STOP_BRIGHTNESS=77")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var result struct {
		Open  int // a connection's line
		First int // its first message's
		OK    bool
		IDs   []string
		Opens int
	}
	next := func(what string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("hue-resume.mjs ended waiting for %s: %v", what, cmd.Wait())
			}
			result.Open, result.First = 0, 0
			if err := json.Unmarshal([]byte(l), &result); err != nil {
				t.Fatalf("hue-resume.mjs: %q: %v", l, err)
			}
		case <-ctx.Done():
			t.Fatalf("waiting for %s", what)
		}
	}
	next("the stream to open")
	hueLog := func() []hueLogEvent { return logOf(t, down.URL(), down.Admin, "hue.>") }
	since := len(hueLog()) // the stream started after these

	// Not through up.admin: no Fatal outside the test's goroutine.
	stopPressing := keepDoing(20*time.Millisecond, func() {
		req, _ := http.NewRequest("POST", up.URL()+"/v1/hue/press", strings.NewReader(`{"button":"`+p.button+`"}`))
		req.Header.Set("Authorization", "Bearer "+up.Admin)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	// A client resumes from the last event it got: one that got none has
	// nothing to resume from (as on a bridge), so the restart waits for one.
	next("the first message")
	down.Restart()
	next("the stream to open again")
	if result.Open != 2 {
		t.Fatalf("connection %d, want the second", result.Open)
	}
	n := len(hueLog())
	eventually(t, 30*time.Second, func() string {
		if len(hueLog()) < n+6 {
			return "presses after the reconnection"
		}
		return ""
	})
	stopPressing()
	if st, _ := up.hueCall(p.upKey, "PUT", "/clip/v2/resource/light/"+p.light, `{"dimming":{"brightness":77}}`); st != 200 {
		t.Fatalf("upstream PUT: %d", st)
	}
	for !result.OK {
		next("the last event")
	}
	if err := cmd.Wait(); err != nil || !result.OK {
		t.Fatalf("hue-resume.mjs: %v %+v", err, result)
	}
	var want []string
	for _, e := range hueLog()[since:] {
		want = append(want, e.ID)
	}
	if !slices.Equal(result.IDs, want) {
		t.Fatalf("the client got %d events\n%v\nthe downstream stored %d after it connected\n%v", len(result.IDs), result.IDs, len(want), want)
	}
	t.Logf("%d events across the restart, %d connections", len(want), result.Opens)
}
