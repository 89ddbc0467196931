package main

import (
	"bufio"
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
	for line := range c.stdout {
		c.banner = append(c.banner, line)
		if strings.HasPrefix(line, "  http ") {
			return c, strings.Fields(line)[1]
		}
	}
	t.Fatalf("no http line in the banner %q", c.banner)
	return nil, ""
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
