package server_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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
