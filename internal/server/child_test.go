package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// child is a herald process that a test kills and starts again on the same
// data directory and port, with the admin key of its first start.
type child struct {
	t               *testing.T
	bin, data, port string
	args            []string
	cmd             *exec.Cmd
	key             string
}

// startChild builds herald and starts it with args added to serve's.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{t: t, bin: buildHerald(t), data: t.TempDir(), port: freePort(t), args: args}
	c.start()
	c.key = strings.TrimSpace(readFile(t, filepath.Join(c.data, "admin.key")))
	t.Cleanup(c.stop)
	return c
}

func (c *child) base() string { return "http://" + c.port }

func (c *child) start() {
	c.t.Helper()
	args := append([]string{"serve", "--data", c.data, "--http", c.port, "--https", "", "--log-level", "warn"}, c.args...)
	c.cmd = exec.Command(c.bin, args...)
	c.cmd.Stdout, c.cmd.Stderr = io.Discard, os.Stderr
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	waitHealthy(c.t, c.base())
}

// kill ends the process with SIGKILL: nothing of it runs after the signal.
func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
	c.cmd = nil
}

func (c *child) stop() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	c.cmd.Wait()
	c.cmd = nil
}

// admin is the header of an admin request with a JSON body.
func (c *child) admin() http.Header {
	return http.Header{"Authorization": {"Bearer " + c.key}, "Content-Type": {"application/json"}}
}

// do makes a request and decodes a 2xx JSON answer into out.
func (c *child) do(method, path string, hdr http.Header, body string, out any) int {
	c.t.Helper()
	st, _, _ := request(c.t, nil, method, c.base()+path, hdr, body, out)
	return st
}

// request makes one request and returns its status, header and body; a
// 2xx JSON answer is decoded into out if it is not nil. A nil client is
// the default transport with a timeout.
func request(t testing.TB, client *http.Client, method, url string, hdr http.Header, body string, out any) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if client == nil {
		client = &http.Client{Timeout: time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, resp.Header, b
}

// basicAuth is the Authorization header of a Zulip user.
func basicAuth(email, key string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(email, key)
	return r.Header.Get("Authorization")
}
