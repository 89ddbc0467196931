package hueconn_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// openhue-go v0.4.0, unmodified (interop/go/openhue), against a mirror: it
// sees the upstream's devices, and its light PUT through the mirror changes
// the upstream's light, which it then reads back through the mirror.
func TestMirrorRealClientOpenhue(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs openhue-go")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	up, down, _, light := mirrored(t)
	cmd := exec.Command(goBin, "run", ".")
	cmd.Dir, _ = filepath.Abs("../../../interop/go/openhue")
	cmd.Env = append(os.Environ(), "HUE_BRIDGE="+strings.TrimPrefix(down.srv.URL, "https://"), "HUE_KEY="+down.app)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"ok":true`) {
		t.Fatalf("openhue-go: %v\n%s", err, out)
	}
	var res struct {
		Light      string `json:"light"`
		BridgeHome string `json:"bridge_home"`
	}
	json.Unmarshal(out[strings.LastIndex(string(out), "{"):], &res)
	if res.Light != light {
		t.Fatalf("openhue-go changed light %q, the upstream's is %q", res.Light, light)
	}
	var env struct{ Data []map[string]any }
	json.Unmarshal(up.hue("GET", "/clip/v2/resource/light/"+light, "").body, &env)
	if len(env.Data) != 1 || brightness(env.Data[0]) != 50 {
		t.Fatalf("upstream light after openhue-go's PUT: %v", env.Data)
	}
	json.Unmarshal(up.hue("GET", "/clip/v2/resource/bridge_home", "").body, &env)
	if len(env.Data) != 1 || env.Data[0]["id"] != res.BridgeHome {
		t.Fatalf("openhue-go saw bridge home %q, upstream's %v", res.BridgeHome, env.Data)
	}
}
