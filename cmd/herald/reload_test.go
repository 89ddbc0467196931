package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server/servertest"
)

// child is herald's main running in a child process, as an operator runs
// it: its output arrives line by line.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr chan string
	banner         []string // stdout up to the http line
}

// startChild runs main with args and waits for the banner's http line,
// returning the child and its HTTP URL; the child is killed at the end of
// the test if it still runs.
func startChild(t *testing.T, args ...string) (*child, string) {
	t.Helper()
	c := spawn(t, args...)
	for line := range c.stdout {
		c.banner = append(c.banner, line)
		if strings.HasPrefix(line, "  http ") {
			return c, strings.Fields(line)[1]
		}
	}
	t.Fatalf("no http line in the banner %q", c.banner)
	return nil, ""
}

// spawn runs main with args; the child is killed at the end of the test
// if it still runs.
func spawn(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	outR, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdout: make(chan string, 100), stderr: make(chan string, 100)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := func(r io.Reader, ch chan<- string) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}
	go lines(outR, c.stdout)
	go lines(errR, c.stderr)
	t.Cleanup(func() {
		cmd.Process.Kill()
		c.wait(t)
	})
	return c
}

// waitFor returns the first line of ch containing s.
func (c *child) waitFor(t *testing.T, ch <-chan string, s string) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-ch:
			if !ok {
				t.Fatalf("output ended without a line containing %q", s)
			}
			if strings.Contains(line, s) {
				return line
			}
		case <-timeout:
			t.Fatalf("no line containing %q", s)
		}
	}
}

// wait waits for the child to exit, draining its output, and returns its
// exit code.
func (c *child) wait(t *testing.T) int {
	t.Helper()
	for range c.stdout {
	}
	for range c.stderr {
	}
	err := c.cmd.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode()
	case err != nil && !strings.Contains(err.Error(), "Wait was already called"):
		t.Fatal(err)
	}
	return 0
}

func healthy(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %s", resp.Status)
	}
}

// SIGHUP makes a running herald reload what it can without a restart and
// log one line saying so; it goes on serving, and SIGTERM still ends it
// gracefully.
func TestSIGHUPReloadsAndServesOn(t *testing.T) {
	c, url := startChild(t, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--https", "")
	healthy(t, url)

	for range 2 {
		if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		line := c.waitFor(t, c.stderr, "reloaded")
		if !strings.Contains(line, "log_level=INFO") {
			t.Errorf("reload line %q does not say the log level", line)
		}
		healthy(t, url)
	}

	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, c.stderr, "shutting down")
	if code := c.wait(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

// With certificate files and no polling, SIGHUP is what makes herald
// serve the renewed pair.
func TestSIGHUPReloadsTheCertificateFiles(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca := servertest.NewCA(t)
	ca.WritePair(t, certPath, keyPath, "before")
	c, _ := startChild(t, "--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:0", "--https", "127.0.0.1:0",
		"--tls-cert", certPath, "--tls-key", keyPath, "--tls-reload-every", "0")
	addr := strings.TrimPrefix(strings.Fields(c.waitFor(t, c.stdout, "  https "))[1], "https://")
	if cn, _ := ca.ServedCN(t, addr); cn != "before" {
		t.Fatalf("serving %q, want \"before\"", cn)
	}

	ca.WritePair(t, certPath, keyPath, "after")
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	line := c.waitFor(t, c.stderr, "reloaded")
	if !strings.Contains(line, "tls_cert="+certPath) {
		t.Errorf("reload line %q does not name the certificate", line)
	}
	if cn, _ := ca.ServedCN(t, addr); cn != "after" {
		t.Fatalf("serving %q after SIGHUP, want \"after\"", cn)
	}

	// A broken pair: logged, and the previous certificate stays.
	if err := os.WriteFile(certPath, []byte("broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, c.stderr, "still serving the previous certificate")
	if cn, _ := ca.ServedCN(t, addr); cn != "after" {
		t.Fatalf("serving %q after a broken pair, want \"after\"", cn)
	}
}

// SIGHUP reads the configuration file again: the log level, the rate
// limit and the access log change at once; a changed setting that needs a
// restart is named in a warning, and keeps its value.
func TestSIGHUPReloadsTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.yaml")
	write := func(content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("http: 127.0.0.1:0\nhttps: \"\"\nretention-age: 24h\nlog-level: info\naccess-log: false\n")
	c, url := startChild(t, "--config", path, "--data", filepath.Join(dir, "data"))
	admin, err := adminKey(&Globals{Data: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	key := createKey(t, url, admin)
	if code := getEvents(t, url, key); code != 200 {
		t.Fatalf("before the reload: %d", code)
	}

	write("http: 127.0.0.1:0\nhttps: \"\"\nretention-age: 48h\nlog-level: debug\nrate-limit: 1\nrate-burst: 1\n")
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	warn := c.waitFor(t, c.stderr, "need a restart")
	if !strings.Contains(warn, "keys=[retention-age]") {
		t.Errorf("restart warning %q does not name retention-age (alone)", warn)
	}
	line := c.waitFor(t, c.stderr, "msg=reloaded")
	for _, want := range []string{`changed="[rate-limit rate-burst access-log log-level]"`, "log_level=DEBUG", "rate_limit=1 rate_burst=1", "access_log=true"} {
		if !strings.Contains(line, want) {
			t.Errorf("reload line %q lacks %q", line, want)
		}
	}
	codes := []int{getEvents(t, url, key), getEvents(t, url, key)}
	if codes[0] != 200 || codes[1] != 429 {
		t.Errorf("two requests at once after the reload: %v, want [200 429] (burst 1)", codes)
	}
	c.waitFor(t, c.stderr, "msg=request") // the access log is on now
}

// With --log-format json every line herald writes is a JSON object, the
// banner too: a record with the URLs and, on first start, the admin key.
func TestJSONLogsAreAllJSON(t *testing.T) {
	dir := t.TempDir()
	c := spawn(t, "--data", dir, "--http", "127.0.0.1:0", "--https", "", "--log-format", "json")
	var lines []string
	var banner map[string]any
	timeout := time.After(60 * time.Second)
	for banner == nil {
		var line string
		select {
		case l, ok := <-c.stderr:
			if !ok {
				t.Fatalf("the log ended without the banner record: %q", lines)
			}
			line = l
		case <-timeout:
			t.Fatalf("no banner record in the log %q", lines)
		}
		lines = append(lines, line)
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if m["msg"] == "herald started" {
			banner = m
		}
	}
	url, _ := banner["http"].(string)
	admin, err := adminKey(&Globals{Data: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || banner["admin_key_created"] != true || banner["admin_key_file"] != filepath.Join(dir, "admin.key") {
		t.Fatalf("banner record %v: want the http URL, the admin key's file and that it was made", banner)
	}
	for _, line := range lines {
		if strings.Contains(line, admin) {
			t.Fatalf("the admin key is in the JSON log: %s", line)
		}
	}
	healthy(t, url)
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for line := range c.stderr {
		lines = append(lines, line)
	}
	var out []string
	for line := range c.stdout {
		out = append(out, line)
	}
	sawRequest := false
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line %q is not JSON: %v", line, err)
		}
		sawRequest = sawRequest || m["msg"] == "request" && m["path"] == "/healthz"
	}
	if !sawRequest || len(out) != 0 {
		t.Errorf("access-log line for /healthz: %v; stdout %q (want none)", sawRequest, out)
	}
}

// createKey makes a key that may read app.> and returns its token.
func createKey(t *testing.T, url, admin string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/keys", strings.NewReader(`{"name":"reader","subscribe":["app.>"]}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var k struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&k); err != nil || k.Token == "" {
		t.Fatalf("create key: %s, %v", resp.Status, err)
	}
	return k.Token
}

// getEvents reads app.> once with key and returns the status.
func getEvents(t *testing.T, url, key string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/v1/events?topics=app.>", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// In JSON mode, the reason herald does not start is a JSON record too.
func TestJSONStartFailureIsJSON(t *testing.T) {
	_, errOut, code := herald(t, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--https", "", "--log-format", "json",
		"--retention-age", "1s")
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(errOut)), &m); err != nil || code != 1 {
		t.Fatalf("exit %d, stderr %q: want 1 and one JSON record (%v)", code, errOut, err)
	}
	if m["level"] != "ERROR" || !strings.Contains(m["err"].(string), "--retention-age 1s is below the minimum") {
		t.Fatalf("record %v", m)
	}
}
