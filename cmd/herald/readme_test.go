package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/server"
)

// readmeCommand is one command of a `sh run` block of the README, with
// the `# ` lines under it: what it must print.
type readmeCommand struct {
	line   int // in the README
	text   string
	expect []string
}

// readmeCommands reads the commands of the README's ```sh run blocks, in
// order. A line ending in \ continues on the next.
func readmeCommands(t *testing.T, path string) []readmeCommand {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []readmeCommand
	in := false
	var cont *readmeCommand
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case !in:
			in = strings.TrimSpace(l) == "```sh run"
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
			out[len(out)-1].expect = append(out[len(out)-1].expect, strings.TrimPrefix(l, "# "))
		case strings.TrimSpace(l) != "":
			out = append(out, readmeCommand{line: n, text: l})
			if strings.HasSuffix(l, `\`) {
				cont = &out[len(out)-1]
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

// TestREADME runs the README's `sh run` blocks in order, exactly as
// written, in one shell, against a fresh server whose address replaces
// localhost:8080 (and is HERALD_URL); herald is this package's main. Each
// command must succeed, and print a line matching each `# ` line under it,
// in that order.
func TestREADME(t *testing.T) {
	cmds := readmeCommands(t, "../../README.md")
	dir := t.TempDir()
	ts := startServer(t, server.Config{DataDir: filepath.Join(dir, "herald-data")})
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf("#!/bin/sh\n%s=1 exec %q \"$@\"\n", runMainEnv, os.Args[0])
	if err := os.WriteFile(filepath.Join(bin, "herald"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(ts.url(), "http://")

	// One script: each command's output (stdout and stderr) between
	// markers, then its exit status.
	var script strings.Builder
	for i, c := range cmds {
		fmt.Fprintf(&script, "echo '@@cmd %d'\n%s\necho \"@@rc $?\"\n", i, strings.ReplaceAll(c.text, "localhost:8080", host))
	}
	sh := exec.Command("bash", "-c", script.String())
	sh.Dir = dir
	sh.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "HERALD_URL="+ts.url(),
		"HERALD_KEY=", "HERALD_DATA=")
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the script: %v\n%s", err, out)
	}
	outputs := map[int][]string{}
	rcs := map[int]string{}
	cur := -1
	for _, l := range strings.Split(string(out), "\n") {
		var n int
		if _, err := fmt.Sscanf(l, "@@cmd %d", &n); err == nil {
			cur = n
			continue
		}
		if rc, ok := strings.CutPrefix(l, "@@rc "); ok {
			rcs[cur] = rc
			continue
		}
		if cur >= 0 && strings.TrimSpace(l) != "" {
			outputs[cur] = append(outputs[cur], strings.Join(strings.Fields(l), " "))
		}
	}
	for i, c := range cmds {
		got := outputs[i]
		if rcs[i] != "0" {
			t.Errorf("README line %d: %s\nexited %s:\n%s", c.line, c.text, rcs[i], strings.Join(got, "\n"))
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
	t.Logf("%d README commands", len(cmds))
}
