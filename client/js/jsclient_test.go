// Package jsclient_test runs the JavaScript client (client/js) against a
// real herald: its Node tests (node --test client/js/test) and, in a
// headless Chromium, the module as a page loads it.
package jsclient_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// restartRequest asks the test goroutine (servertest may fail the test only
// from there) to restart one of the servers.
type restartRequest struct {
	server string
	done   chan error
}

// TestNode runs `node --test` over client/js/test with two herald servers
// in its environment — one ordinary, one keeping only 4 KiB of events (for
// expired positions) — and a control endpoint that restarts either on the
// same data and port. Every test must pass and none may be skipped: a test
// that silently did not run would hide a broken client.
func TestNode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node")
	}
	node := findNode(t)
	files, err := filepath.Glob("test/*.test.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in client/js/test: %v", err)
	}
	servers := map[string]*servertest.Server{
		"main":  servertest.Start(t, server.Config{}),
		"small": servertest.Start(t, server.Config{RetentionBytes: 4096}),
	}
	restarts := make(chan restartRequest)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/restart" || servers[r.URL.Query().Get("server")] == nil {
			http.Error(w, "POST /restart?server=main|small", http.StatusBadRequest)
			return
		}
		req := restartRequest{server: r.URL.Query().Get("server"), done: make(chan error, 1)}
		select {
		case restarts <- req:
		case <-ctx.Done():
			http.Error(w, "the test is over", http.StatusServiceUnavailable)
			return
		}
		<-req.done
		w.WriteHeader(http.StatusNoContent)
	}))
	defer control.Close()

	// A test that hangs fails alone, with its name, instead of the whole run.
	args := append(nodeFlags(t, node), "--test", "--test-reporter=tap", "--test-timeout=60000")
	cmd := exec.Command(node, append(args, files...)...)
	cmd.Env = append(os.Environ(),
		"HERALD_URL="+servers["main"].URL(), "HERALD_KEY="+servers["main"].Admin,
		"HERALD_SMALL_URL="+servers["small"].URL(), "HERALD_SMALL_KEY="+servers["small"].Admin,
		"HERALD_CONTROL="+control.URL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	timeout := time.NewTimer(4 * time.Minute)
	defer timeout.Stop()
	for {
		select {
		case req := <-restarts:
			servers[req.server].Restart()
			req.done <- nil
			continue
		case err = <-exited:
		case <-timeout.C:
			cmd.Process.Kill()
			<-exited
			t.Fatalf("node --test did not finish in 4 minutes:\n%s", out.String())
		}
		break
	}
	counts := tapCounts(out.String())
	if err != nil || counts["pass"] == 0 || counts["fail"] != 0 || counts["cancelled"] != 0 || counts["skipped"] != 0 || counts["todo"] != 0 {
		t.Fatalf("node --test: %v, %v\n%s", err, counts, out.String())
	}
	t.Logf("node --test: %d passed", counts["pass"])
}

var tapCount = regexp.MustCompile(`(?m)^# (pass|fail|cancelled|skipped|todo) (\d+)$`)

// tapCounts reads the summary node's TAP reporter ends with.
func tapCounts(out string) map[string]int {
	counts := map[string]int{}
	for _, m := range tapCount.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[2])
		counts[m[1]] = n
	}
	return counts
}

// findNode returns node from the PATH, which `make deps` installs.
func findNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required: run `make deps`")
	}
	return node
}

// nodeFlags are the flags that give node a global WebSocket: Node 20 and
// 21 have it behind --experimental-websocket, later versions by default.
func nodeFlags(t *testing.T, node string) []string {
	t.Helper()
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v", err)
	}
	major, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(strings.TrimSpace(string(v)), "v"), ".", 2)[0])
	if major < 20 {
		t.Fatalf("node %s: the client needs Node 20 or later", strings.TrimSpace(string(v)))
	}
	if major < 22 {
		return []string{"--experimental-websocket"}
	}
	return nil
}
