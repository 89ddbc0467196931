package main

import (
	"strings"
	"testing"

	"github.com/herald-io/herald/internal/buildinfo"
)

// herald version, --version and -v print the same: the module version,
// the VCS revision and time, and the Go version.
func TestVersion(t *testing.T) {
	b := buildinfo.Read()
	var first string
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		stdout, stderr, code := herald(t, args...)
		if code != 0 || stderr != "" {
			t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", args, code, stderr)
		}
		for _, want := range []string{"herald " + b.Version + "\n", "revision  " + b.Rev() + "\n", "go        " + b.Go + "\n", "time      "} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%q printed %q; want a line %q", args, stdout, want)
			}
		}
		if first == "" {
			first = stdout
		} else if stdout != first {
			t.Errorf("%q printed %q; want what %q printed, %q", args, stdout, "version", first)
		}
	}
}

func TestVersionText(t *testing.T) {
	got := versionText(buildinfo.Info{Version: "v1.2.3", Revision: "abc", Dirty: true, Time: "2026-01-02T03:04:05Z", Go: "go1.26.8"})
	want := "herald v1.2.3\n  revision  abc+dirty\n  time      2026-01-02T03:04:05Z\n  go        go1.26.8\n"
	if got != want {
		t.Errorf("versionText = %q, want %q", got, want)
	}
	got = versionText(buildinfo.Info{Version: "dev", Go: "go1.26.8"})
	want = "herald dev\n  revision  unknown\n  time      unknown\n  go        go1.26.8\n"
	if got != want {
		t.Errorf("versionText = %q, want %q", got, want)
	}
}

// The start-up banner begins with the build.
func TestBannerShowsTheBuild(t *testing.T) {
	c, _ := startChild(t, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--https", "")
	if want := "herald " + buildinfo.Read().String(); c.banner[0] != want {
		t.Errorf("banner starts %q, want %q", c.banner[0], want)
	}
}
