package main

import (
	"fmt"
	"io"

	"github.com/alecthomas/kong"

	"github.com/herald-io/herald/internal/buildinfo"
)

// VersionCmd prints the version.
type VersionCmd struct{}

// Run prints the build's version, revision, time and Go version.
func (VersionCmd) Run(k *kong.Kong) error {
	_, err := io.WriteString(k.Stdout, versionText(buildinfo.Read()))
	return err
}

// versionFlag is --version and -v: the version command as a flag.
type versionFlag bool

// BeforeReset prints the version and exits before anything else is parsed
// or checked, as --help does.
func (versionFlag) BeforeReset(k *kong.Kong) error {
	io.WriteString(k.Stdout, versionText(buildinfo.Read()))
	k.Exit(0)
	return nil
}

// versionText is what herald version prints.
func versionText(b buildinfo.Info) string {
	t := b.Time
	if t == "" {
		t = "unknown"
	}
	return fmt.Sprintf("herald %s\n  revision  %s\n  time      %s\n  go        %s\n", b.Version, b.Rev(), t, b.Go)
}
