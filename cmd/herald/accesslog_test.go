package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// get makes a GET and returns its X-Request-Id; the body is left to the
// caller when keep (a stream), else read and closed.
func get(t *testing.T, url, key string, keep bool) (string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if !keep {
		resp.Body.Close()
	}
	id := resp.Header.Get("X-Request-Id")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("GET %s: %s, X-Request-Id %q", url, resp.Status, id)
	}
	return id, resp
}

// Access lines wait (here: an hour) and go out with the next other line,
// in the order they were logged; a stream's line, which its end at the
// shutdown writes after the last other line, is written before herald
// exits; no line is written twice.
func TestAccessLogWrittenAtShutdown(t *testing.T) {
	dir := t.TempDir()
	c, url := startChild(t, "--data", dir, "--http", "127.0.0.1:0", "--https", "", "--access-log-flush", "1h")
	admin, err := adminKey(&Globals{Data: dir})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		id, _ := get(t, url+"/healthz", "", false)
		ids = append(ids, id)
	}
	stream, resp := get(t, url+"/v1/stream?topics=app.>", admin, true)
	defer resp.Body.Close()

	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range c.stderr {
		lines = append(lines, l)
	}
	if code := c.wait(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; log:\n%s", code, strings.Join(lines, "\n"))
	}
	at := func(s string) []int {
		var out []int
		for i, l := range lines {
			if strings.Contains(l, s) {
				out = append(out, i)
			}
		}
		return out
	}
	down := at("msg=\"shutting down\"")
	if len(down) != 1 {
		t.Fatalf("%d shutdown lines; log:\n%s", len(down), strings.Join(lines, "\n"))
	}
	prev := -1
	for _, id := range ids {
		n := at("request_id=" + id)
		if len(n) != 1 || n[0] < prev || n[0] > down[0] || !strings.Contains(lines[n[0]], "path=/healthz status=200") {
			t.Fatalf("request %s at lines %v (want once, in order, before the shutdown's at %d); log:\n%s",
				id, n, down[0], strings.Join(lines, "\n"))
		}
		prev = n[0]
	}
	n := at("request_id=" + stream)
	if len(n) != 1 || n[0] < down[0] || !strings.Contains(lines[n[0]], "path=/v1/stream status=200") {
		t.Fatalf("the stream's line at %v, want once after the shutdown's at %d; log:\n%s",
			n, down[0], strings.Join(lines, "\n"))
	}
}

// SIGHUP writes the access lines waiting, although the reload then logs
// nothing (its level is warn now).
func TestAccessLogWrittenOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "herald.yaml")
	write := func(content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("http: 127.0.0.1:0\nhttps: \"\"\nlog-level: info\naccess-log-flush: 1h\n")
	c, url := startChild(t, "--config", path, "--data", filepath.Join(dir, "data"))
	id, _ := get(t, url+"/healthz", "", false)
	write("http: 127.0.0.1:0\nhttps: \"\"\nlog-level: warn\naccess-log-flush: 1h\n")
	if err := c.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, c.stderr, "request_id="+id)
}
