// Package buildinfo says which herald this is, from what the Go toolchain
// wrote into the binary (runtime/debug.ReadBuildInfo): the module version,
// the VCS revision and time, and the Go version. The CLI, GET /v1/cluster,
// /metrics and the start-up banner all show the same Info.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Info describes a build. Fields the toolchain did not record are empty:
// a binary built outside a VCS checkout (or with -buildvcs=false, or by go
// run and go test) has no revision.
type Info struct {
	// Version is the module version: a tag (v1.2.3), a pseudo-version for
	// an untagged commit (+dirty with uncommitted changes), or "dev" for a
	// build that has none.
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"` // the VCS commit
	Dirty    bool   `json:"dirty,omitempty"`    // built with uncommitted changes
	Time     string `json:"vcs_time,omitempty"` // the commit's time, RFC 3339
	Go       string `json:"go"`                 // the toolchain, e.g. go1.26.8
}

// Read returns this binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return From(bi)
}

// From returns the Info bi records (bi may be nil: nothing recorded).
func From(bi *debug.BuildInfo) Info {
	i := Info{Version: "dev", Go: "unknown"}
	if bi == nil {
		return i
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		i.Version = v
	}
	if bi.GoVersion != "" {
		i.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Dirty = s.Value == "true"
		}
	}
	return i
}

// Rev is the revision with "+dirty" for uncommitted changes, or "unknown".
func (i Info) Rev() string {
	if i.Revision == "" {
		return "unknown"
	}
	if i.Dirty {
		return i.Revision + "+dirty"
	}
	return i.Revision
}

// String is the one-line form: the version, then the short revision, its
// time and the Go version, those known.
func (i Info) String() string {
	var parts []string
	if i.Revision != "" {
		short := i.Revision[:min(12, len(i.Revision))]
		if i.Dirty {
			short += "+dirty"
		}
		parts = append(parts, short)
	}
	if i.Time != "" {
		parts = append(parts, i.Time)
	}
	parts = append(parts, i.Go)
	return i.Version + " (" + strings.Join(parts, ", ") + ")"
}
