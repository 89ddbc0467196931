package server_test

import (
	"bytes"
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

// The vendors' own client libraries, unmodified (interop/, installed by
// `make test`), run against a real herald: openhue-go v0.4.0 on the Hue REST
// API over HTTPS, zulip-js 2.1.0, the npm eventsource client on the Hue
// event stream, @lukehagar/plexjs 0.43.0 and the npm ws client on Plex
// notifications.
func TestRealClients(t *testing.T) {
	rc := startRealClients(t)
	s, admin, run, pairHue := rc.s, rc.admin, rc.run, rc.pairHue

	t.Run("zulip-js", func(t *testing.T) {
		var u struct {
			APIKey string `json:"api_key"`
		}
		admin("/v1/zulip/users", map[string]any{"email": "bot@example.com", "full_name": "Bot"}, &u)
		admin("/v1/zulip/streams", map[string]any{"name": "general"}, nil)
		run(t, "zulip.mjs", "ZULIP_EMAIL=bot@example.com", "ZULIP_KEY="+u.APIKey)
	})
	t.Run("openhue-go", func(t *testing.T) {
		key := pairHue(t)
		admin("/v1/hue/devices", map[string]any{"product": "color_lamp", "name": "Desk"}, nil)
		goBin, err := exec.LookPath("go")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(goBin, "run", ".")
		cmd.Dir, _ = filepath.Abs("../../interop/go/openhue")
		cmd.Env = append(os.Environ(), "HUE_BRIDGE="+strings.TrimPrefix(s.Srv.TLSURL, "https://"), "HUE_KEY="+key)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"ok":true`) {
			t.Fatalf("openhue-go: %v\n%s", err, out)
		}
		t.Logf("openhue-go: %s", strings.TrimSpace(string(out)))
	})
	t.Run("hue-eventsource", func(t *testing.T) {
		key := pairHue(t)
		var dev struct {
			Data []struct{ RID, RType string }
		}
		admin("/v1/hue/devices", map[string]any{"product": "dimmer_switch", "name": "Hall"}, &dev)
		button := ""
		for _, svc := range dev.Data {
			if svc.RType == "button" && button == "" {
				button = svc.RID
			}
		}
		if button == "" {
			t.Fatalf("no button in %+v", dev)
		}
		run(t, "hue.mjs", "HUE_KEY="+key, "HUE_BUTTON="+button)
	})
	// Routes, seen by the vendors' clients: a Hue press becomes a Zulip
	// message zulip-js receives; an RFID read becomes a Hue light PUT whose
	// update the Hue event stream (npm eventsource) carries.
	t.Run("routes-zulip-js-and-eventsource", func(t *testing.T) {
		var bell, listener struct {
			APIKey string `json:"api_key"`
			KeyID  string `json:"key_id"`
		}
		admin("/v1/zulip/users", map[string]any{"email": "bell@example.com", "full_name": "Door Bell"}, &bell)
		admin("/v1/zulip/users", map[string]any{"email": "me@example.com", "full_name": "Me"}, &listener)
		admin("/v1/zulip/streams", map[string]any{"name": "home"}, nil)
		var dev, lamp struct {
			Data []struct{ RID, RType string }
		}
		admin("/v1/hue/devices", map[string]any{"product": "dimmer_switch", "name": "Front door"}, &dev)
		admin("/v1/hue/devices", map[string]any{"product": "color_lamp", "name": "Porch lamp"}, &lamp)
		first := func(d struct{ Data []struct{ RID, RType string } }, rtype string) string {
			for _, svc := range d.Data {
				if svc.RType == rtype {
					return svc.RID
				}
			}
			t.Fatalf("no %s in %+v", rtype, d)
			return ""
		}
		button, light := first(dev, "button"), first(lamp, "light")
		hueKey := pairHue(t)
		hueID, _, _ := strings.Cut(strings.TrimPrefix(hueKey, "hk_"), "_")
		admin("/v1/routes", map[string]any{
			"name": "doorbell", "topics": []string{"hue.button." + button},
			"when":   "data.button.button_report.event == 'initial_press'",
			"action": map[string]any{"kind": "zulip.message", "as": bell.KeyID, "params": "{'to': 'home', 'topic': 'doorbell', 'content': 'Someone is at the door'}"},
		}, nil)
		admin("/v1/routes", map[string]any{
			"name": "tag-light", "topics": []string{"jetstream.door-reader.objectevent"},
			"when":   "size(data.Observe) > 0",
			"action": map[string]any{"kind": "hue.put", "as": hueID, "params": "{'resource': 'light/" + light + "', 'body': {'on': {'on': true}}}"},
		}, nil)
		run(t, "route-doorbell.mjs", "ZULIP_EMAIL=me@example.com", "ZULIP_KEY="+listener.APIKey, "HUE_BUTTON="+button)
		run(t, "route-light.mjs", "HUE_KEY="+hueKey, "HUE_LIGHT="+light)
	})
	t.Run("plexjs-and-ws", func(t *testing.T) {
		var tok struct{ Token string }
		admin("/v1/plex/tokens", map[string]any{"name": "plexjs"}, &tok)
		run(t, "plex.mjs", "PLEX_TOKEN="+tok.Token)
	})
	// The same clients on a herald in front of another (a plex
	// connector): the scan is made upstream and read downstream.
	t.Run("plexjs-and-ws-through-a-connector", func(t *testing.T) {
		up := startHop(t)
		down := &hop{t: t, Server: s}
		down.admin("POST", "/v1/connectors", `{"name":"pms","kind":"plex","url":"`+up.URL()+`","key":"`+up.plexToken("connector")+`"}`, nil)
		waitConnected(t, down, "pms", 0)
		var tok struct{ Token string }
		admin("/v1/plex/tokens", map[string]any{"name": "plexjs-down"}, &tok)
		run(t, "plex.mjs", "PLEX_TOKEN="+tok.Token, "SCAN_URL="+up.URL(), "SCAN_ADMIN_KEY="+up.Admin)
	})
	// zulip-js as a Zulip identity mirrored by a zulip connector: a message
	// sent upstream by another user, and one it sends through herald (which
	// goes upstream), both come back through its herald queue.
	t.Run("zulip-js-through-a-connector", func(t *testing.T) {
		up := startHop(t)
		down := &hop{t: t, Server: s}
		upBot, alice := up.zulipUser("mirrored@example.com", "Mirrored"), up.zulipUser("alice@example.com", "Alice")
		up.admin("POST", "/v1/zulip/streams", `{"name":"general"}`, nil)
		down.admin("POST", "/v1/connectors", `{"name":"chat","kind":"zulip","url":"`+up.URL()+
			`","email":"mirrored@example.com","key":"`+upBot.Key+`"}`, nil)
		waitConnected(t, down, "chat", 0)
		bot := down.zulipUser("mirrored@example.com", "Mirrored")
		run(t, "zulip.mjs", "ZULIP_EMAIL=mirrored@example.com", "ZULIP_KEY="+bot.Key,
			"UPSTREAM_URL="+up.URL(), "UPSTREAM_EMAIL=alice@example.com", "UPSTREAM_KEY="+alice.Key)
	})
	// zulip-js registers as a mirrored identity: the initial state is the
	// server's (its streams, users, newest message), the queue herald's.
	t.Run("zulip-js-register-state-through-a-connector", func(t *testing.T) {
		up := startHop(t)
		down := &hop{t: t, Server: s}
		upBot, alice := up.zulipUser("state@example.com", "State"), up.zulipUser("alice@example.com", "Alice")
		up.admin("POST", "/v1/zulip/streams", `{"name":"general"}`, nil)
		up.admin("POST", "/v1/zulip/streams", `{"name":"upstairs"}`, nil)
		newest := up.zulipSend(alice, "before the register")
		down.admin("POST", "/v1/connectors", `{"name":"state","kind":"zulip","url":"`+up.URL()+
			`","email":"state@example.com","key":"`+upBot.Key+`"}`, nil)
		waitConnected(t, down, "state", 0)
		bot := down.zulipUser("state@example.com", "State")
		out := run(t, "zulip-state.mjs", "ZULIP_EMAIL=state@example.com", "ZULIP_KEY="+bot.Key)
		var got struct {
			Subs         []string `json:"subscriptions"`
			Users        []string `json:"realm_users"`
			MaxMessageID int64    `json:"max_message_id"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("zulip-state.mjs: %q: %v", out, err)
		}
		if !slices.Equal(got.Subs, []string{"general", "upstairs"}) || !slices.Equal(got.Users, []string{"alice@example.com", "state@example.com"}) ||
			got.MaxMessageID != newest {
			t.Fatalf("register's state through herald %+v; the upstream has general and upstairs, alice and state, message %d", got, newest)
		}
	})
}

// realClients is a herald for the real clients' scripts (interop/js),
// with what the scripts need: admin calls, a run of a script that must
// print {"ok":true}, and a paired Hue application key.
type realClients struct {
	s       *servertest.Server
	admin   func(path string, body any, out any)
	run     func(t *testing.T, script string, env ...string) string // its last line
	pairHue func(t *testing.T) string
}

func startRealClients(t *testing.T) *realClients {
	if testing.Short() {
		t.Skip("runs node")
	}
	dir, _ := filepath.Abs("../../interop/js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("the real clients are not installed: run `make deps` (npm ci in interop/js): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required: run `make deps`")
	}
	s := servertest.Start(t, server.Config{HTTPSAddr: "127.0.0.1:0"})
	rc := &realClients{s: s}
	rc.admin = func(path string, body any, out any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", s.URL()+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+s.Admin)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
	}
	rc.run = func(t *testing.T, script string, env ...string) string {
		cmd := exec.Command(node, script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), append(env, "HERALD_URL="+s.URL(), "ADMIN_KEY="+s.Admin)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil || !strings.Contains(out.String(), `"ok":true`) {
				t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", script, err, out.String(), errb.String())
			}
			t.Logf("%s: %s", script, strings.TrimSpace(out.String()))
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%s did not finish: %s %s", script, out.String(), errb.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		return lines[len(lines)-1]
	}
	rc.pairHue = func(t *testing.T) string {
		t.Helper()
		rc.admin("/v1/hue/link", map[string]any{}, nil)
		resp, err := http.Post(s.URL()+"/api", "application/json", strings.NewReader(`{"devicetype":"herald#test"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var pair []struct{ Success struct{ Username string } }
		json.NewDecoder(resp.Body).Decode(&pair)
		if len(pair) != 1 || pair[0].Success.Username == "" {
			t.Fatalf("pairing: %+v", pair)
		}
		return pair[0].Success.Username
	}
	return rc
}
