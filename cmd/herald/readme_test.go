//go:build unix

package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-io/herald/internal/server"
	"github.com/herald-io/herald/internal/server/servertest"
)

// readmeCommand is one command of a `sh run` block of the README, with
// the `# ` lines under it: what it must print.
type readmeCommand struct {
	line   int // in the README
	text   string
	expect []string
	exit   int // the exit status it must have: 0 unless a `# (exit N)` line says
}

// exitLine is the expectation line that names a command's exit status.
var exitLine = regexp.MustCompile(`^\(exit ([0-9]+)\)$`)

// heredoc finds a here-document's delimiter in a command line (<<'EOF').
var heredoc = regexp.MustCompile(`<<-?\s*'?([A-Za-z_]+)'?`)

// readmeCommands reads the commands of the README's ```sh run blocks, in
// order. A line ending in \ continues on the next; a here-document runs
// to its delimiter.
func readmeCommands(t *testing.T, path string) []readmeCommand {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeCommand
	in := false
	var cont *readmeCommand
	until := "" // the delimiter of the here-document being read
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case !in:
			in = strings.TrimSpace(l) == "```sh run"
		case until != "":
			out[len(out)-1].text += "\n" + l
			if strings.TrimSpace(l) == until {
				until = ""
			}
		case strings.HasPrefix(l, "```"):
			in, cont = false, nil
		case cont != nil:
			cont.text += "\n" + l
			if !strings.HasSuffix(l, `\`) {
				cont = nil
			}
		case strings.HasPrefix(l, "# "):
			if len(out) == 0 {
				t.Fatalf("README line %d: an expectation before any command", n)
			}
			e := strings.TrimPrefix(l, "# ")
			if m := exitLine.FindStringSubmatch(e); m != nil {
				out[len(out)-1].exit, _ = strconv.Atoi(m[1])
				continue
			}
			out[len(out)-1].expect = append(out[len(out)-1].expect, e)
		case strings.TrimSpace(l) != "":
			out = append(out, readmeCommand{line: n, text: l})
			if strings.HasSuffix(l, `\`) {
				cont = &out[len(out)-1]
			}
			if m := heredoc.FindStringSubmatch(l); m != nil {
				until = m[1]
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("the README has no ```sh run block")
	}
	return out
}

// expectRE turns an expectation into a pattern for one line of output: …
// stands for anything, runs of spaces for any run of spaces, and a leading
// HTTP status (documentation: curl -s does not print it) is dropped.
func expectRE(e string) *regexp.Regexp {
	e = regexp.MustCompile(`^[1-5][0-9][0-9] `).ReplaceAllString(strings.Join(strings.Fields(e), " "), "")
	var re strings.Builder
	for i, part := range strings.Split(e, "…") {
		if i > 0 {
			re.WriteString(".*")
		}
		re.WriteString(regexp.QuoteMeta(part))
	}
	return regexp.MustCompile("^" + re.String() + "$")
}

// readmePort is the README's first port: its examples' server listens
// there, and a second server, when one needs it, on the next ones.
const readmePort = 8080

// freePorts finds ten consecutive free loopback ports, below the
// ephemeral range so that no outgoing connection takes one meanwhile.
func freePorts(t *testing.T) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.IntN(10000)
		var lns []net.Listener
		for p := base; p < base+10; p++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		for _, ln := range lns {
			ln.Close()
		}
		if len(lns) == 10 {
			return base
		}
	}
	t.Fatal("no ten consecutive free ports")
	return 0
}

// TestREADME runs the README's `sh run` blocks in order, exactly as
// written, in one shell, against a fresh server, in a temporary directory
// that holds its data (herald-data) and the checkout's client/. Ports
// 8080–8089 are replaced by ten free ones: the server listens on the
// first (HERALD_URL), and the README may start others on the next ones;
// whatever it leaves running is killed at the end. herald is this
// package's main. Each command must exit 0 (or as its `# (exit N)` line
// says) and print a line matching each `# ` line under it, in that order.
func TestREADME(t *testing.T) {
	cmds := readmeCommands(t, "../../README.md")
	dir := t.TempDir()
	base := freePorts(t)
	ts := servertest.Start(t, server.Config{DataDir: filepath.Join(dir, "herald-data"),
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", base)})
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	// GORACE: a race-enabled binary otherwise sleeps a second as it exits.
	wrapper := fmt.Sprintf("#!/bin/sh\nGORACE=${GORACE:-atexit_sleep_ms=0} %s=1 exec %q \"$@\"\n", runMainEnv, os.Args[0])
	if err := os.WriteFile(filepath.Join(bin, "herald"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	clientDir, err := filepath.Abs("../../client")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(clientDir, filepath.Join(dir, "client")); err != nil {
		t.Fatal(err)
	}
	port := regexp.MustCompile(`\b808([0-9])\b`)

	// One script: each command's output (stdout and stderr) between
	// markers, then its exit status on a line of its own (an answer need
	// not end in a line break), with the times it started and ended.
	var script strings.Builder
	for i, c := range cmds {
		text := port.ReplaceAllStringFunc(c.text, func(p string) string {
			n, _ := strconv.Atoi(p)
			return strconv.Itoa(base + n - readmePort)
		})
		fmt.Fprintf(&script, "echo \"@@cmd %d $EPOCHREALTIME\"\n%s\nprintf '\\n@@rc %%s %%s\\n' $? \"$EPOCHREALTIME\"\n", i, text)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-c", script.String())
	sh.Dir = dir
	// None of the caller's HERALD_* settings: the README's reader has none.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HERALD_") {
			env = append(env, kv)
		}
	}
	sh.Env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HERALD_URL="+ts.URL())
	// Its own process group, so that what the README started in the
	// background goes with it.
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	sh.Cancel = func() error { return syscall.Kill(-sh.Process.Pid, syscall.SIGKILL) }
	sh.WaitDelay = 5 * time.Second
	var outb bytes.Buffer
	sh.Stdout, sh.Stderr = &outb, &outb
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	err = sh.Wait()
	syscall.Kill(-sh.Process.Pid, syscall.SIGKILL)
	out := outb.Bytes()
	if err != nil {
		t.Fatalf("the script: %v\n%s", err, out)
	}
	outputs := map[int][]string{}
	rcs := map[int]string{}
	took := make([]float64, len(cmds))
	cur := -1
	var began float64
	for _, l := range strings.Split(string(out), "\n") {
		var n int
		if _, err := fmt.Sscanf(l, "@@cmd %d %g", &n, &began); err == nil {
			cur = n
			continue
		}
		var rc string
		var ended float64
		if _, err := fmt.Sscanf(l, "@@rc %s %g", &rc, &ended); err == nil {
			rcs[cur], took[cur] = rc, ended-began
			continue
		}
		if cur >= 0 && strings.TrimSpace(l) != "" {
			outputs[cur] = append(outputs[cur], strings.Join(strings.Fields(l), " "))
		}
	}
	for i, c := range cmds {
		got := outputs[i]
		if rcs[i] != strconv.Itoa(c.exit) {
			t.Errorf("README line %d: %s\nexited %s, not %d:\n%s", c.line, c.text, rcs[i], c.exit, strings.Join(got, "\n"))
			continue
		}
		at := 0
		for _, e := range c.expect {
			re := expectRE(e)
			for at < len(got) && !re.MatchString(got[at]) {
				at++
			}
			if at == len(got) {
				t.Errorf("README line %d: %s\nprinted:\n%s\nwith no line matching %q after the ones before", c.line, c.text, strings.Join(got, "\n"), e)
				break
			}
			at++
		}
	}
	slowest := make([]int, len(cmds))
	for i := range slowest {
		slowest[i] = i
	}
	slices.SortFunc(slowest, func(a, b int) int { return cmp.Compare(took[b], took[a]) })
	var total float64
	for _, d := range took {
		total += d
	}
	t.Logf("%d README commands in %.1fs; the slowest:", len(cmds), total)
	for _, i := range slowest[:min(5, len(slowest))] {
		t.Logf("%5.1fs  README line %d: %s", took[i], cmds[i].line, strings.SplitN(cmds[i].text, "\n", 2)[0])
	}
}
